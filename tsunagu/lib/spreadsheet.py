"""Cells of a CSV file that people open in Excel or LibreOffice."""

# A cell Excel (or LibreOffice) would read as a formula: written with a leading apostrophe instead, so an
# export opened by staff cannot run what someone typed into a form (CSV injection; OWASP's advice).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
