"""The DKIM private key is encrypted at rest (lib/encryption.py): the stored keys are encrypted with the
newest encryption key. Reversible: going back decrypts them."""

from django.db import migrations

import tsunagu.lib.encryption
from tsunagu.lib.encryption import PREFIX, decrypt, encrypt

COLUMNS = ["dkim_private_key"]


def _convert(apps, schema_editor, convert):
    table = apps.get_model("companies", "Company")._meta.db_table
    quote = schema_editor.connection.ops.quote_name
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {', '.join(map(quote, COLUMNS))} FROM {quote(table)}")
        for pk, *values in cursor.fetchall():
            changed = [convert(value) for value in values]
            if changed != values:
                cursor.execute(f"UPDATE {quote(table)} SET {', '.join(quote(c) + ' = %s' for c in COLUMNS)} "
                               "WHERE id = %s", [*changed, pk])


def encrypt_rows(apps, schema_editor):
    _convert(apps, schema_editor, lambda value: value if not value or value.startswith(PREFIX) else encrypt(value))


def decrypt_rows(apps, schema_editor):
    _convert(apps, schema_editor, lambda value: decrypt(value) if value and value.startswith(PREFIX) else value)


class Migration(migrations.Migration):

    dependencies = [
        ('companies', '0007_audit_event'),
    ]

    operations = [
        migrations.AlterField(
            model_name='company',
            name='dkim_private_key',
            field=tsunagu.lib.encryption.EncryptedTextField(blank=True, verbose_name='DKIM秘密鍵(PEM)'),
        ),
        migrations.RunPython(encrypt_rows, decrypt_rows),
    ]
