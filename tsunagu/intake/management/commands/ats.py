import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tsunagu.companies.management.commands.company import validation_message
from tsunagu.companies.models import Company
from tsunagu.intake.actions.connections import add_connection
from tsunagu.intake.actions.polling import poll_interval
from tsunagu.intake.adapters import all_adapters, kinds


class Command(BaseCommand):
    help = ("Connect an ATS. `ats add` prints one JSON object with the connection id and webhook_url "
            "(null for an ATS Tsunagu polls, such as HERP Hire).")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="connect an ATS and print the webhook URL to paste into it")
        add.add_argument("--company", required=True, help="company slug")
        add.add_argument("--kind", required=True, choices=kinds())
        add.add_argument("--secret", default="", help=_secret_help())
        add.add_argument("--api-key", default="",
                         help="; ".join(adapter.api_key_help for adapter in all_adapters() if adapter.api_key_help))
        add.add_argument("--api-base-url", default="", help="the vendor's API base URL (default: its public API)")

    def handle(self, *args, action, **options):
        company = Company.objects.filter(slug=options["company"]).first()
        if company is None:
            raise CommandError(f"no company with slug {options['company']!r}")
        try:
            connection = add_connection(company, kind=options["kind"], secret=options["secret"],
                                        api_key=options["api_key"], api_base_url=options["api_base_url"])
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from exc
        polled = connection.adapter.pulled
        output = {"company": company.slug, "kind": connection.kind, "id": connection.pk,
                  "webhook_url": None if polled else connection.webhook_url}
        if polled:
            output["poll_interval_seconds"] = int(poll_interval().total_seconds())
        self.stdout.write(json.dumps(output))


def _secret_help() -> str:
    """E.g. "the signing secret (Lever: the webhook's signature token); not for herp"."""
    text = "the signing secret"
    hints = [adapter.secret_help for adapter in all_adapters() if adapter.secret_help]
    if hints:
        text += f" ({'; '.join(hints)})"
    without = [adapter.kind for adapter in all_adapters() if not adapter.uses_secret]
    if without:
        text += f"; not for {', '.join(without)}"
    return text
