import json
import os

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tsunagu import config
from tsunagu.core.actions import rotate_secrets
from tsunagu.lib.encryption import DecryptionError


class Command(BaseCommand):
    help = ("The key that encrypts the secrets stored in the database. `secrets new-key` puts a new key in front "
            "(older keys keep working); restart every process, then `secrets rotate` re-encrypts every stored "
            "secret with the newest key; then the older keys can be removed. Each prints one JSON object.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("new-key", help="add a new encryption key in front of the data dir's encryption_key file "
                                       "(with TSUNAGU_ENCRYPTION_KEY set: print one to put first in it)")
        sub.add_parser("rotate", help="re-encrypt every stored secret with the newest key")

    def handle(self, *args, action, **options):
        if action == "new-key":
            self.stdout.write(json.dumps(self.new_key()))
            return
        try:
            counts = rotate_secrets()
        except DecryptionError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps({"reencrypted": counts, "keys": len(settings.TSUNAGU_ENCRYPTION_KEYS),
                                      "next": "every secret is under the newest key: older keys can be removed"}))

    def new_key(self) -> dict:
        key = Fernet.generate_key().decode()
        if os.environ.get("TSUNAGU_ENCRYPTION_KEY", "").strip():
            # The environment is not ours to change: the operator puts the key in front of the others.
            return {"key": key, "next": "put this key first in TSUNAGU_ENCRYPTION_KEY (comma-separated, keep the "
                                        "others after it), restart every process, then run `tsunagu secrets rotate`"}
        key_file = config.add_encryption_key(settings.DATA_DIR, key)
        return {"key_file": str(key_file), "keys": len(config.encryption_keys(settings.DATA_DIR)),
                "next": "back up the key file, restart every process, then run `tsunagu secrets rotate`"}
