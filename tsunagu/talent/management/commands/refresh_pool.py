import json

from django.core.management.base import BaseCommand, CommandError

from tsunagu.companies.models import Company
from tsunagu.companies.selectors import company_by_slug
from tsunagu.talent.actions.pool import refresh_whole_pool


class Command(BaseCommand):
    help = ("Recompute the talent pool's derived fields, automatic tags and search tokens from the applications "
            "(after an upgrade that changed how they are computed). Safe to repeat and to run while serving.")

    def add_arguments(self, parser):
        parser.add_argument("--company", help="company slug (default: every company)")

    def handle(self, *args, **options):
        if options["company"]:
            company = company_by_slug(options["company"])
            if company is None:
                raise CommandError(f"no company with slug {options['company']!r}")
            companies = [company]
        else:
            companies = list(Company.objects.order_by("pk"))
        counts = {company.slug: refresh_whole_pool(company) for company in companies}
        self.stdout.write(json.dumps({"refreshed": counts}))
