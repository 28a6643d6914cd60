"""`tsunagu backup PATH`: a consistent copy of the data dir while Tsunagu serves.

- Each SQLite database in the data dir (the embedded database, the embedded queue) is copied with SQLite's
  online backup API in one step: the copy is the database as one read transaction saw it, while writers go on
  (WAL mode), so it never holds half of a transaction. The copy is checked with PRAGMA integrity_check.
- The data dir's other files are copied as they are: the secret key, the encryption keys (without which the
  copied secrets cannot be read) and the e-mail webhook secret. The static files are left out: `tsunagu serve`
  collects them again.
- A PostgreSQL database is not copied here: pg_dump does that (the README says how); the data dir's files
  still are.

The backup holds personal data and secrets: its folder is readable by the owner only.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

# Regenerated on start, or SQLite's own companions of a database file (the backup API copies their content).
SKIPPED_SUFFIXES = ("-wal", "-shm", "-journal")
SKIPPED_DIRECTORIES = {"static"}


class BackupError(Exception):
    """The backup could not be made as asked; nothing was written."""


def make_backup(data_dir: Path, target: Path, *, database_vendor: str, encryption_key_in_environment: bool) -> dict:
    """Copy `data_dir` into `target` (a new or empty folder); what was copied, as a JSON-ready dict."""
    data_dir, target = Path(data_dir).resolve(), Path(target).resolve()
    if target == data_dir or data_dir in target.parents:
        raise BackupError(f"{target} is inside the data dir {data_dir}: choose a folder outside it")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} already exists and is not an empty folder: a backup never overwrites one")
    created = not target.exists()
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    target.chmod(0o700)
    databases, files = {}, []
    try:
        for path in sorted(data_dir.iterdir()):
            if path.is_dir() or path.name.endswith(SKIPPED_SUFFIXES):
                continue
            if _is_sqlite(path):
                databases[path.name] = _copy_database(path, target / path.name)
            else:
                shutil.copyfile(path, target / path.name)
                (target / path.name).chmod(0o600)
                files.append(path.name)
    except BaseException:
        # A half backup must not pass for a whole one.
        if created:
            shutil.rmtree(target, ignore_errors=True)
        else:
            for path in target.iterdir():
                path.unlink()
        raise
    summary = {"path": str(target), "databases": databases, "files": files}
    if database_vendor != "sqlite":
        summary["database"] = (f"{database_vendor}: not copied by this command; back it up with pg_dump "
                               "(see the README's Backups)")
    if encryption_key_in_environment:
        summary["encryption_key"] = ("TSUNAGU_ENCRYPTION_KEY holds the keys, not the data dir: keep them with "
                                     "this backup, or its stored secrets cannot be read")
    return summary


def _is_sqlite(path: Path) -> bool:
    with open(path, "rb") as file:
        return file.read(16) == b"SQLite format 3\x00"


def _copy_database(source: Path, copy: Path) -> dict:
    # Read-only: a backup must never change what it copies (nor create a database where there is none).
    reading = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True, timeout=30)
    writing = sqlite3.connect(copy)
    try:
        reading.backup(writing)  # all pages in one step: one consistent snapshot
        integrity = writing.execute("PRAGMA integrity_check").fetchone()[0]
        pages = writing.execute("PRAGMA page_count").fetchone()[0]
    finally:
        writing.close()
        reading.close()
    os.chmod(copy, 0o600)
    if integrity != "ok":
        raise BackupError(f"the copy of {source.name} failed its integrity check: {integrity}")
    return {"bytes": copy.stat().st_size, "pages": pages, "integrity": integrity}
