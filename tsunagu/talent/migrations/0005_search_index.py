"""The full-text index over talent_candidate.search_tokens (see tsunagu/talent/fulltext.py).

SQLite: an FTS5 external-content table kept in sync by triggers, so that every write (save(), update(), the
bulk statements of lib.bulk) reaches it. PostgreSQL: a stored generated tsvector column of the tokens as
lexemes with a GIN index, which needs no extension (pg_trgm would need CREATE EXTENSION). Other databases get nothing (and cannot search the pool).
"""

from django.db import migrations

SQLITE_FORWARD = [
    """CREATE VIRTUAL TABLE talent_candidate_fts USING fts5(
        search_tokens, content='talent_candidate', content_rowid='id',
        tokenize="unicode61 remove_diacritics 0")""",
    """CREATE TRIGGER talent_candidate_fts_insert AFTER INSERT ON talent_candidate BEGIN
        INSERT INTO talent_candidate_fts(rowid, search_tokens) VALUES (new.id, new.search_tokens);
    END""",
    """CREATE TRIGGER talent_candidate_fts_delete AFTER DELETE ON talent_candidate BEGIN
        INSERT INTO talent_candidate_fts(talent_candidate_fts, rowid, search_tokens)
        VALUES ('delete', old.id, old.search_tokens);
    END""",
    """CREATE TRIGGER talent_candidate_fts_update AFTER UPDATE OF search_tokens ON talent_candidate BEGIN
        INSERT INTO talent_candidate_fts(talent_candidate_fts, rowid, search_tokens)
        VALUES ('delete', old.id, old.search_tokens);
        INSERT INTO talent_candidate_fts(rowid, search_tokens) VALUES (new.id, new.search_tokens);
    END""",
    # Rows that exist already (their tokens are filled in by 0006).
    "INSERT INTO talent_candidate_fts(talent_candidate_fts) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS talent_candidate_fts_update",
    "DROP TRIGGER IF EXISTS talent_candidate_fts_delete",
    "DROP TRIGGER IF EXISTS talent_candidate_fts_insert",
    "DROP TABLE IF EXISTS talent_candidate_fts",
]
# A stored generated column rather than an expression index: a plan that walks the people in date order and
# tests each row's tokens then reads the vector instead of rebuilding it from the text for every row. The
# column is the database's own (Django's model does not know it; inserts and updates fill it in).
POSTGRESQL_FORWARD = [
    "ALTER TABLE talent_candidate ADD COLUMN search_vector tsvector "
    "GENERATED ALWAYS AS (array_to_tsvector(string_to_array(search_tokens, ' '))) STORED",
    "CREATE INDEX talent_candidate_tokens_gin ON talent_candidate USING gin (search_vector)",
]
POSTGRESQL_BACKWARD = [
    "DROP INDEX IF EXISTS talent_candidate_tokens_gin",
    "ALTER TABLE talent_candidate DROP COLUMN IF EXISTS search_vector",
]


def run(statements_by_vendor):
    def operation(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return operation


class Migration(migrations.Migration):

    dependencies = [
        ("talent", "0004_talent_pool"),
    ]

    operations = [
        migrations.RunPython(
            run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRESQL_FORWARD}),
            run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRESQL_BACKWARD}),
        ),
    ]
