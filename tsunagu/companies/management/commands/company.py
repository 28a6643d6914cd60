import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tsunagu.companies import actions
from tsunagu.companies.models import SendWindow
from tsunagu.lib.commands import validation_message


class Command(BaseCommand):
    help = "Manage companies. `company create` prints one JSON object with slug and api_key."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a company and its first API key")
        create.add_argument("--name", required=True, help="legal name used in mail, e.g. 株式会社つなぐ")
        create.add_argument("--slug", required=True, help="short id: lowercase letters, digits and hyphens")
        create.add_argument("--delay-minutes", type=int, default=None, help="wait before sending (default 1440)")
        create.add_argument("--send-window", choices=SendWindow.values, default=SendWindow.BUSINESS)
        create.add_argument("--sender-email", default="")

    def handle(self, *args, action, **options):
        if options["delay_minutes"] is not None and options["delay_minutes"] < 0:
            raise CommandError("--delay-minutes must be 0 or more")
        try:
            company, api_key = actions.create_company(
                name=options["name"], slug=options["slug"], delay_minutes=options["delay_minutes"],
                send_window=options["send_window"], sender_email=options["sender_email"],
            )
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from exc
        self.stdout.write(json.dumps({"slug": company.slug, "api_key": api_key, "name": company.name},
                                     ensure_ascii=False))
