"""A company's data export as files, written piece by piece so that memory stays bounded and an HTTP response
can stream it (the tables are in privacy/company_export.py and company_export_relay.py):

- a ZIP of CSV files, one per table: UTF-8 with a byte-order mark, a header row of the English column names,
  CRLF line ends, every cell Excel would take for a formula neutralised (lib/spreadsheet.py); lists joined
  with "; "; plus manifest.json (the company, the time, the row count of each table);
- one JSON document: {"company": {...}, "exported_at": ..., "<table>": [rows...], ..., "row_counts": {...}}.
Times are ISO 8601 in UTC with the offset; money is integer yen; yes/no is true/false.

Each CSV is first written to an anonymous temporary file in the data folder (kept in memory while small),
then copied into the archive: the archive then knows each entry's size and uses ZIP64 only where an entry
needs it, which every unzip tool (Windows' and macOS' included) reads. The archive itself is written to a
stream that cannot seek (data descriptors after each entry), so it can go straight to the HTTP response.
"""

from __future__ import annotations

import csv
import json
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime

from django.conf import settings
from django.utils import timezone

from tsunagu.companies.models import Company
from tsunagu.lib.spreadsheet import BOM, neutralised
from tsunagu.privacy.company_export import TABLES, Table, company_facts
from tsunagu.privacy.company_export_relay import RELAY_TABLES

EVERY_TABLE: tuple[Table, ...] = (*TABLES, *RELAY_TABLES)
LIST_SEPARATOR = "; "
# A CSV table stays in memory up to this size, then goes to a temporary file in the data folder.
SPOOL_IN_MEMORY = 1024 * 1024
COPY_BLOCK = 256 * 1024
# The JSON document is sent in pieces of about this size.
JSON_PIECE = 64 * 1024


def plain(value):
    """A value as JSON holds it: times in UTC with the offset, dates as YYYY-MM-DD."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def csv_cell(value) -> str:
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        value = LIST_SEPARATOR.join(str(item) for item in value)
    return neutralised(value)


class _Line:
    """csv.writer's target: hands back the line it was given."""

    def write(self, line: str) -> str:
        return line


class _Pipe:
    """A write-only stream the archive writes to, emptied by the generator that sends the bytes on. It has no
    tell() or seek(): zipfile then writes each entry's sizes after its data."""

    def __init__(self):
        self._pieces: list[bytes] = []

    def write(self, data) -> int:
        self._pieces.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._pieces)
        self._pieces.clear()
        return data


class CompanyExport:
    """One export of one company: `zip_chunks()` or `json_chunks()` gives the file's bytes in pieces;
    `row_counts` holds each table's rows once its rows were written."""

    def __init__(self, company: Company, *, exported_at: datetime | None = None):
        self.company = company
        self.exported_at = exported_at or timezone.now()
        self.row_counts: dict[str, int] = {}

    def _rows(self, table: Table) -> Iterator[dict]:
        count = 0
        for row in table.rows(self.company):
            count += 1
            yield row
        self.row_counts[table.name] = count

    # --- ZIP of CSV files ---

    def _spool_csv(self, table: Table):
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, dir=settings.DATA_DIR)
        writer = csv.writer(_Line(), lineterminator="\r\n")
        spool.write((BOM + writer.writerow(table.columns)).encode())
        for row in self._rows(table):
            spool.write(writer.writerow([csv_cell(row[column]) for column in table.columns]).encode())
        return spool

    def _entry(self, name: str, size: int) -> zipfile.ZipInfo:
        local = timezone.localtime(self.exported_at, timezone.get_default_timezone())
        entry = zipfile.ZipInfo(name, date_time=local.timetuple()[:6])
        entry.compress_type = zipfile.ZIP_DEFLATED
        entry.external_attr = 0o600 << 16
        entry.file_size = size  # known before writing: the archive uses ZIP64 for this entry only if needed
        return entry

    def zip_chunks(self) -> Iterator[bytes]:
        pipe = _Pipe()
        with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for table in EVERY_TABLE:
                with self._spool_csv(table) as spool:
                    size = spool.tell()
                    spool.seek(0)
                    with archive.open(self._entry(f"{table.name}.csv", size), "w") as entry:
                        while block := spool.read(COPY_BLOCK):
                            entry.write(block)
                            if data := pipe.take():
                                yield data
                yield pipe.take()
            manifest = json.dumps(self._manifest(), ensure_ascii=False, indent=2).encode()
            archive.writestr(self._entry("manifest.json", len(manifest)), manifest)
        yield pipe.take()

    def _manifest(self) -> dict:
        return {"company": {key: plain(value) for key, value in company_facts(self.company).items()},
                "exported_at": plain(self.exported_at),
                "tables": [{"file": f"{table.name}.csv", "columns": list(table.columns),
                            "rows": self.row_counts[table.name]} for table in EVERY_TABLE]}

    # --- one JSON document ---

    def json_chunks(self) -> Iterator[bytes]:
        pieces: list[str] = []
        size = 0

        def add(text: str):
            nonlocal size
            pieces.append(text)
            size += len(text)

        def dumps(value) -> str:
            return json.dumps(value, ensure_ascii=False, default=str)

        add('{"company": ' + dumps({key: plain(value) for key, value in company_facts(self.company).items()}))
        add(', "exported_at": ' + dumps(plain(self.exported_at)))
        for table in EVERY_TABLE:
            add(f", {dumps(table.name)}: [")
            separator = "\n"
            for row in self._rows(table):
                add(separator + dumps({column: plain(row[column]) for column in table.columns}))
                separator = ",\n"
                if size >= JSON_PIECE:
                    yield "".join(pieces).encode()
                    pieces.clear()
                    size = 0
            add("]")
        add(', "row_counts": ' + dumps(self.row_counts) + "}\n")
        yield "".join(pieces).encode()
