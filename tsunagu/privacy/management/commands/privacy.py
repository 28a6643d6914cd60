import json

from django.core.management import call_command
from django.core.management.base import BaseCommand

from tsunagu.privacy.actions.retention import purge


class Command(BaseCommand):
    help = ("Privacy. `privacy purge` erases every person whose retention period has ended (what the scheduler "
            "does every hour); with --dry-run it only counts them. Prints a summary, or one JSON object with "
            "--json: {dry_run, candidates: {company slug: n}, registrants, erased, more}. `privacy export "
            "--company SLUG --format zip|json --output PATH` writes all of a company's data to a new file.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        purging = sub.add_parser("purge", help="erase (or with --dry-run, count) people past their retention")
        purging.add_argument("--dry-run", action="store_true", help="count who would be erased; change nothing")
        purging.add_argument("--json", action="store_true", help="print one JSON object")
        exporting = sub.add_parser("export", help="write all of a company's data to a new file (see privacy_export)")
        exporting.add_argument("--company", required=True, help="the company's slug")
        exporting.add_argument("--format", required=True, choices=["zip", "json"], dest="export_format")
        exporting.add_argument("--output", required=True, help="the file to write; it must not exist yet")

    def handle(self, *args, action, **options):
        if action == "export":
            call_command("privacy_export", company=options["company"], export_format=options["export_format"],
                         output=options["output"], stdout=self.stdout)
            return
        dry_run = options["dry_run"]
        report = purge(dry_run=True) if dry_run else _purge_all()
        summary = report.as_dict()
        if options["json"]:
            self.stdout.write(json.dumps(summary, ensure_ascii=False))
            return
        verb = "would be erased" if dry_run else "erased"
        for slug, count in sorted(summary["candidates"].items()):
            self.stdout.write(f"{slug}: {count} candidates {verb}")
        if summary["registrants"]:
            self.stdout.write(f"relay operator: {summary['registrants']} registrants {verb}")
        self.stdout.write(f"total: {summary['erased']} {verb}")


def _purge_all():
    """Batch after batch until nothing past its deadline is left; the totals."""
    total = purge()
    while total.more:
        report = purge()
        for slug, count in report.candidates.items():
            total.candidates[slug] = total.candidates.get(slug, 0) + count
        total.registrants += report.registrants
        total.more = report.more
    return total
