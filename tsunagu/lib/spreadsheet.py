"""CSV files that people open in Excel or LibreOffice."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

# A cell Excel (or LibreOffice) would read as a formula: written with a leading apostrophe instead, so an
# export opened by staff cannot run what someone typed into a form (CSV injection; OWASP's advice).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def neutralised(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    """A file-like object whose write() hands the line back: csv.writer then formats one row at a time."""

    def write(self, value):
        return value


def excel_csv_lines(header: Iterable, rows: Iterable[Iterable]) -> Iterator[str]:
    """A CSV file for a StreamingHttpResponse, line by line: a byte-order mark first (Excel reads the file as
    UTF-8 only with one), the header, then each row with every cell neutralised; CRLF line ends."""
    writer = csv.writer(_Echo())
    yield BOM
    yield writer.writerow([str(label) for label in header])
    for row in rows:
        yield writer.writerow([neutralised(value) for value in row])
