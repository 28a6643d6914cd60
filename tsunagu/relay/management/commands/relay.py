import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tsunagu.companies.models import Company
from tsunagu.lib.commands import validation_message
from tsunagu.relay.actions import contracts


class Command(BaseCommand):
    help = ("The relay operator's side. `relay contract` sets a company's contract (registrations per free "
            "referral slot, referral fee in yen) and prints JSON {company, ratio, fee_yen}.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        contract = sub.add_parser("contract", help="set (or, with neither option, show) a company's contract")
        contract.add_argument("--company", required=True, help="the company's slug")
        contract.add_argument("--ratio", type=int, default=None,
                              help="registrations that earn one free referral slot (1-1000; default 10)")
        contract.add_argument("--fee-yen", type=int, default=None,
                              help="what one referral would cost, in yen (for the company's cost saved)")

    def handle(self, *args, action, **options):
        company = Company.objects.tenants().filter(slug=options["company"]).first()
        if company is None:
            raise CommandError(f"company {options['company']!r} not found")
        for option in ("ratio", "fee_yen"):
            if options[option] is not None and options[option] < 0:
                raise CommandError(f"--{option.replace('_', '-')} must be 0 or more")
        try:
            contract = contracts.set_contract(company, ratio=options["ratio"], fee_yen=options["fee_yen"])
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from exc
        self.stdout.write(json.dumps({"company": company.slug, "ratio": contract.ratio, "fee_yen": contract.fee_yen},
                                     ensure_ascii=False))
