"""Keeping SQLite's full-text index attached to the candidates table.

Migration 0005 creates the FTS5 table and the triggers that copy every write of talent_candidate.search_tokens
into it. SQLite cannot alter most columns in place: Django's schema editor rebuilds the table (create a new
one, copy, drop the old, rename), and triggers go with the dropped table. A later migration that touched
talent_candidate would then leave the index silently stale. After every `migrate`, this puts back any trigger
that is missing and, if one was, rebuilds the index from the table.
"""

from __future__ import annotations

from django.db import connections

FTS_TABLE = "talent_candidate_fts"
TRIGGERS = {
    "talent_candidate_fts_insert": """CREATE TRIGGER talent_candidate_fts_insert AFTER INSERT ON talent_candidate BEGIN
        INSERT INTO talent_candidate_fts(rowid, search_tokens) VALUES (new.id, new.search_tokens);
    END""",
    "talent_candidate_fts_delete": """CREATE TRIGGER talent_candidate_fts_delete AFTER DELETE ON talent_candidate BEGIN
        INSERT INTO talent_candidate_fts(talent_candidate_fts, rowid, search_tokens)
        VALUES ('delete', old.id, old.search_tokens);
    END""",
    "talent_candidate_fts_update": """CREATE TRIGGER talent_candidate_fts_update AFTER UPDATE OF search_tokens
        ON talent_candidate BEGIN
        INSERT INTO talent_candidate_fts(talent_candidate_fts, rowid, search_tokens)
        VALUES ('delete', old.id, old.search_tokens);
        INSERT INTO talent_candidate_fts(rowid, search_tokens) VALUES (new.id, new.search_tokens);
    END""",
}


def restore_sqlite_triggers(using: str = "default") -> list[str]:
    """Create the missing triggers (and rebuild the index when any was missing); their names."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, type FROM sqlite_master WHERE name = %s OR type = 'trigger'", [FTS_TABLE])
        present = {name for name, _type in cursor.fetchall()}
        if FTS_TABLE not in present:  # not migrated that far (or rolled back): nothing to keep in step
            return []
        missing = [name for name in TRIGGERS if name not in present]
        for name in missing:
            cursor.execute(TRIGGERS[name])
        if missing:
            cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
    return missing
