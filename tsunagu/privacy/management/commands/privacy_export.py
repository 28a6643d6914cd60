"""`tsunagu manage privacy_export --company SLUG --format zip|json --output PATH`: the company's data export
(privacy/company_export_files.py) written to a new file."""

import json
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tsunagu.companies.models import Company
from tsunagu.privacy.company_export_files import CompanyExport


class Command(BaseCommand):
    help = ("Write all of one company's data to a new file: a ZIP of CSV files (UTF-8 with BOM, for Excel) or "
            "one JSON document. Never overwrites a file. Prints one JSON object: path, format and the rows of "
            "each table.")

    def add_arguments(self, parser):
        parser.add_argument("--company", required=True, help="the company's slug")
        parser.add_argument("--format", required=True, choices=["zip", "json"], dest="export_format")
        parser.add_argument("--output", required=True, help="the file to write; it must not exist yet")

    def handle(self, *args, company, export_format, output, **options):
        found = Company.objects.tenants().filter(slug=company).first()
        if found is None:
            raise CommandError(f"no company with the slug {company!r}")
        path = Path(output).absolute()
        export = CompanyExport(found)
        chunks = export.zip_chunks() if export_format == "zip" else export.json_chunks()
        try:
            # "x": created here or refused, even if another process makes the file meanwhile.
            with open(path, "xb") as out:
                os.chmod(path, 0o600)  # it holds personal data
                try:
                    for chunk in chunks:
                        out.write(chunk)
                except BaseException:
                    path.unlink(missing_ok=True)  # no half export left behind
                    raise
        except FileExistsError as exc:
            raise CommandError(f"{path} exists already: choose a new file name") from exc
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps({"path": str(path), "format": export_format, "rows": export.row_counts},
                                     ensure_ascii=False))
