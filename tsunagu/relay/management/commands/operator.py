"""`tsunagu operator key`: a new key for the relay operator's API (the agency's own CRM)."""

import json

from django.core.management.base import BaseCommand

from tsunagu.companies import actions


class Command(BaseCommand):
    help = "The relay operator. `operator key` prints one JSON object with api_key: a new key for the operator API."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        key = sub.add_parser("key", help="issue a new key for the operator API (/api/v1/operator/); shown only here")
        key.add_argument("--label", default="cli", help="a name for the key, shown in the operator's console")

    def handle(self, *args, action, **options):
        # A new key each time (keys are kept only as hashes, so an existing one cannot be shown again); old keys
        # stay valid until revoked on the operator's identity page.
        api_key = actions.issue_api_key(actions.operator_party(), label=options["label"].strip()[:100])
        self.stdout.write(json.dumps({"api_key": api_key}))
