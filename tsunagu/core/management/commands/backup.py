import json
import os
import sqlite3
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from tsunagu.core.backup import BackupError, make_backup


class Command(BaseCommand):
    help = ("Copy the data dir into PATH (a new or empty folder) while Tsunagu serves: the embedded SQLite "
            "databases through SQLite's online backup API (a consistent snapshot, checked), and the key files. "
            "A PostgreSQL database is backed up with pg_dump instead. Prints one JSON object.")

    def add_arguments(self, parser):
        parser.add_argument("path", help="where to put the backup: a folder that does not exist yet, or is empty")

    def handle(self, *args, path, **options):
        try:
            summary = make_backup(settings.DATA_DIR, Path(path), database_vendor=connection.vendor,
                                  encryption_key_in_environment=bool(os.environ.get("TSUNAGU_ENCRYPTION_KEY",
                                                                                    "").strip()))
        except (BackupError, OSError, sqlite3.Error) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(summary, ensure_ascii=False))
