"""State changes that span the apps: re-encrypting every stored secret with the newest encryption key."""

from __future__ import annotations

from django.apps import apps
from django.db import connection, transaction

from tsunagu.lib import encryption


def rotate_secrets() -> dict[str, int]:
    """Re-encrypt with the newest key every stored secret that another key made, all or nothing.

    Returns {"app.Model.field": values re-encrypted} for every encrypted field of every model (found by their
    field class, so a new encrypted field is covered without a change here). A value that none of the keys
    opens raises encryption.DecryptionError and nothing is changed."""
    counts: dict[str, int] = {}
    quote = connection.ops.quote_name
    with transaction.atomic():
        for model in apps.get_models():
            fields = encryption.encrypted_fields(model)
            if not fields:
                continue
            labels = {field.name: f"{model._meta.label}.{field.name}" for field in fields}
            counts.update(dict.fromkeys(labels.values(), 0))
            # The stored tokens, not the plaintext the model gives: which key made them is what counts here.
            sql = (f"SELECT {quote(model._meta.pk.column)}, {', '.join(quote(field.column) for field in fields)} "
                   f"FROM {quote(model._meta.db_table)}")
            if connection.features.has_select_for_update:
                sql += " FOR UPDATE"  # an edit made meanwhile is neither lost nor overwritten
            with connection.cursor() as cursor:
                cursor.execute(sql)
                rows = cursor.fetchall()
            for pk, *stored in rows:
                changes = {field.name: encryption.decrypt(value, what=f"{labels[field.name]} (id {pk})")
                           for field, value in zip(fields, stored, strict=True) if not encryption.is_current(value)}
                if changes:
                    # The field encrypts what it saves with the newest key.
                    model._base_manager.filter(pk=pk).update(**changes)
                    for name in changes:
                        counts[labels[name]] += 1
    return counts
