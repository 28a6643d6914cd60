import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tsunagu.companies import actions
from tsunagu.companies.models import Role
from tsunagu.companies.selectors import company_by_slug
from tsunagu.lib.commands import validation_message


class Command(BaseCommand):
    help = "Manage console users."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a console login (or update its password and role)")
        create.add_argument("--company", help="company slug (omit only with --operator)")
        create.add_argument("--email", required=True)
        create.add_argument("--password", required=True)
        create.add_argument("--role", choices=Role.values, default=Role.RECRUITER)
        create.add_argument("--operator", action="store_true", help="relay-operator staff (sees all registrants)")

    def handle(self, *args, action, **options):
        company = None
        if options["company"]:
            company = company_by_slug(options["company"])
            if company is None:
                raise CommandError(f"no company with slug {options['company']!r}")
        try:
            created = actions.create_user(email=options["email"], password=options["password"], company=company,
                                          role=options["role"], operator=options["operator"])
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from exc
        self.stdout.write(json.dumps({
            "email": created.user.email,
            "company": company.slug if company else None,
            "role": created.membership.role if created.membership else None,
            "operator": options["operator"],
        }))
