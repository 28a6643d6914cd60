import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tsunagu.companies.management.commands.company import validation_message
from tsunagu.companies.models import Company
from tsunagu.intake import webhooks


class Command(BaseCommand):
    help = ("Connect an ATS. `ats add` prints one JSON object with the connection id and webhook_url "
            "(null for an ATS Tsunagu polls, such as HERP Hire).")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="connect an ATS and print the webhook URL to paste into it")
        add.add_argument("--company", required=True, help="company slug")
        add.add_argument("--kind", required=True, choices=[str(kind) for kind in webhooks.CONNECTION_KINDS])
        add.add_argument("--secret", default="",
                         help="the signing secret (Lever: the webhook's signature token); not for herp")
        add.add_argument("--api-key", default="",
                         help="Lever: API key used to read opportunities; herp: the HERP Hire API key")
        add.add_argument("--api-base-url", default="", help="the vendor's API base URL (default: its public API)")

    def handle(self, *args, action, **options):
        company = Company.objects.filter(slug=options["company"]).first()
        if company is None:
            raise CommandError(f"no company with slug {options['company']!r}")
        try:
            connection = webhooks.add_connection(company, kind=options["kind"], secret=options["secret"],
                                                 api_key=options["api_key"], api_base_url=options["api_base_url"])
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from exc
        polled = connection.kind in webhooks.POLLING_KINDS
        output = {"company": company.slug, "kind": connection.kind, "id": connection.pk,
                  "webhook_url": None if polled else connection.webhook_url}
        if polled:
            from tsunagu.intake.polling import poll_interval

            output["poll_interval_seconds"] = int(poll_interval().total_seconds())
        self.stdout.write(json.dumps(output))
