"""`tsunagu import-csv --company SLUG FILE [--dry-run] [--json] [--send-notices] [--map HEADER=field ...]`."""

import json
import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from tsunagu.companies.models import Company
from tsunagu.intake.actions import imports
from tsunagu.intake.csv_import import FIELDS, IGNORE, CsvFileError, parse_mapping

# Files with more rows than this get a progress display even when stderr is not a terminal.
PROGRESS_ROWS = 1000


class Command(BaseCommand):
    help = ("Import applications from a CSV export (CP932 or UTF-8). With --json the last line printed is one "
            "JSON object: imported, updated, skipped, errors [{line, message}]. Exits 0 when the file was "
            "processed (bad rows are listed in errors), 1 when the file as a whole cannot be imported.")

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE")
        parser.add_argument("--company", required=True, help="company slug")
        parser.add_argument("--dry-run", action="store_true", help="validate and count; change nothing")
        parser.add_argument("--json", action="store_true", help="print the result as one JSON object (last line)")
        parser.add_argument("--send-notices", action="store_true",
                            help="plan rejection notices for rejected rows (default: record history, send nothing)")
        parser.add_argument("--map", action="append", default=[], metavar="HEADER=field",
                            help=f"read column HEADER as field ({', '.join(FIELDS)}; {IGNORE} ignores it)")

    def handle(self, *args, file, company, dry_run, json: bool, send_notices, map, **options):  # noqa: A002
        as_json = json
        found = Company.objects.filter(slug=company).first()
        if found is None:
            raise CommandError(f"no company with slug {company!r}")
        try:
            mapping = parse_mapping(map)
        except ValueError as exc:
            raise CommandError(f"--map takes HEADER=field, not {exc.args[0]!r}") from exc

        bar = ProgressBar(sys.stderr)
        try:
            result = imports.import_csv(found, file, dry_run=dry_run, send_notices=send_notices, mapping=mapping,
                                        progress=bar.update)
        except CsvFileError as exc:
            if as_json:
                self._print_json({"imported": 0, "updated": 0, "skipped": 0,
                                  "errors": [{"line": exc.line, "message": exc.message}]})
            raise CommandError(f"{file}: {exc.message}") from exc
        bar.finish()
        if as_json:
            self._print_json(result.as_dict())
            return
        self._print_summary(file, result)

    def _print_json(self, data: dict) -> None:
        self.stdout.write(json_dumps(data))

    def _print_summary(self, file: str, result: imports.ImportResult) -> None:
        out = self.stdout
        heading = _("%(file)s(%(encoding)s、%(rows)s 行)") % {
            "file": file, "encoding": result.encoding, "rows": f"{result.total_rows:,}"}
        if result.dry_run:
            heading += " " + _("— ドライラン: 何も変更していません")
        out.write(heading)
        prefix = _("取り込む予定") if result.dry_run else _("取り込み")
        out.write(_("%(prefix)s: 新規 %(imported)s 件、更新 %(updated)s 件、変更なし %(skipped)s 件、エラー %(errors)s 件") % {
            "prefix": prefix, "imported": f"{result.imported:,}", "updated": f"{result.updated:,}",
            "skipped": f"{result.skipped:,}", "errors": f"{len(result.errors):,}"})
        for error in result.errors:
            out.write(_("  %(line)s 行目: %(message)s") % error)


def json_dumps(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False)


class ProgressBar:
    """A carriage-return bar on a terminal; on a pipe, a line every 10% for files over PROGRESS_ROWS rows."""

    WIDTH = 30

    def __init__(self, stream):
        self.stream = stream
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.started = time.monotonic()
        self.shown = False
        self.last_tenth = -1

    def update(self, result: imports.ImportResult) -> None:
        total = result.total_rows
        if not total or not (self.tty or total > PROGRESS_ROWS):
            return
        done = min(result.processed_rows, total)
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = done / elapsed
        if self.tty:
            filled = int(self.WIDTH * done / total)
            self.stream.write(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {done:,}/{total:,} "
                              f"({100 * done // total}%) {rate:,.0f} rows/s ")
            self.stream.flush()
            self.shown = True
            return
        tenth = 10 * done // total
        if tenth > self.last_tenth:
            self.last_tenth = tenth
            self.stream.write(f"{done:,}/{total:,} ({tenth * 10}%) {rate:,.0f} rows/s\n")
            self.stream.flush()

    def finish(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
