"""The signing secret and the vendor's API key are encrypted at rest (lib/encryption.py): the columns become
text (a token is longer than its plaintext) and the stored values are encrypted with the newest key.
Reversible: going back decrypts them."""

from django.db import migrations

import tsunagu.lib.encryption
from tsunagu.lib.encryption import PREFIX, decrypt, encrypt

COLUMNS = ["secret", "api_key"]


def _convert(apps, schema_editor, convert):
    table = apps.get_model("intake", "AtsConnection")._meta.db_table
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
        ('intake', '0004_kind_choices_from_adapters'),
    ]

    operations = [
        migrations.AlterField(
            model_name='atsconnection',
            name='secret',
            field=tsunagu.lib.encryption.EncryptedCharField(blank=True, max_length=500, verbose_name='署名シークレット'),
        ),
        migrations.AlterField(
            model_name='atsconnection',
            name='api_key',
            field=tsunagu.lib.encryption.EncryptedCharField(blank=True, max_length=500, verbose_name='APIキー'),
        ),
        migrations.RunPython(encrypt_rows, decrypt_rows),
    ]
