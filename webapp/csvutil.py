"""CSV for spreadsheets and email services: RFC 4180, UTF-8, formula cells neutralised."""

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value) -> str:
    """Return a cell that a spreadsheet shows as text, never runs (OWASP CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat() + "Z"  # stored as naive UTC
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def csv_lines(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """Yield the CSV text line by line (header first), each cell made safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([safe_cell(v) for v in row])
        yield buffer.getvalue()
