"""CSV for spreadsheets and email services: RFC 4180, UTF-8, formula cells neutralised."""

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator

FORMULA_STARTS = frozenset("=+-@\t\r\n")
ROWS_PER_CHUNK = 1000


def safe_cell(value) -> str:
    """Return a cell that a spreadsheet shows as text, never runs (OWASP CSV injection)."""
    if value.__class__ is str:  # the common case first: exports are millions of cells
        return "'" + value if value[:1] in FORMULA_STARTS else value
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat() + "Z"  # stored as naive UTC
    return safe_cell(str(value))


def csv_lines(header: list[str], rows: Iterable[Iterable], rows_per_chunk: int = ROWS_PER_CHUNK) -> Iterator[str]:
    """Yield the CSV text, header first, in chunks of whole lines, each cell made safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    batch: list[list[str]] = []
    for row in rows:
        # safe_cell inlined for text, the common case: a big export is millions of cells
        batch.append([("'" + v if v[:1] in FORMULA_STARTS else v) if v.__class__ is str else safe_cell(v) for v in row])
        if len(batch) >= rows_per_chunk:
            writer.writerows(batch)
            batch.clear()
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    writer.writerows(batch)
    yield buffer.getvalue()
