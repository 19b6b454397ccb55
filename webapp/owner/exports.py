"""The subscriber CSV: one generator of lines, used by the owner's download and the CLI.

Rows are read in keyset-paginated batches (`WHERE id > last ORDER BY id LIMIT n`), each in
its own short transaction, so a million subscribers stream in constant memory and the
export never holds SQLite's write lock (every SQLite transaction here is BEGIN IMMEDIATE)
for longer than one batch.
"""

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func

from ..csvutil import csv_lines
from ..extensions import db
from ..newsletter.models import Subscriber
from ..newsletter.service import absolute_url, unsubscribe_serializer, unsubscribe_url

PLACEHOLDER = "TOKEN"  # stands for the signed part of an unsubscribe URL
HEADER = [
    "Email Address",
    "First Name",
    "Status",
    "OPTIN_TIME",
    "OPTIN_IP",
    "CONFIRM_TIME",
    "CONFIRM_IP",
    "UNSUB_TIME",
    "SOURCE_PAGE",
    "CONSENT_VERSION",
    "UNSUBSCRIBE_URL",
]
CSV_FIELDS = len(HEADER) - 1  # read from the table; the last, the unsubscribe URL, is made here
STATUSES = ("subscribed", "pending", "unsubscribed", "all")


class ExportError(ValueError):
    """A filter the export cannot use; the message says what is expected."""


@dataclass(frozen=True)
class ExportFilter:
    """Which subscribers to export: a status (or all) and an opt-in date range, both ends included."""

    status: str = "subscribed"
    since: dt.date | None = None
    until: dt.date | None = None

    @classmethod
    def parse(cls, status: str | None = None, since: str | None = None, until: str | None = None) -> "ExportFilter":
        """Build a filter from text (query string or command line), or raise ExportError."""
        status = (status or "subscribed").strip().lower()
        if status not in STATUSES:
            raise ExportError(f"status must be one of {', '.join(STATUSES)}, not {status!r}.")
        export = cls(status, parse_date("since", since), parse_date("until", until))
        if export.since and export.until and export.since > export.until:
            raise ExportError(f"since ({export.since}) is after until ({export.until}).")
        return export

    def filename(self, today: dt.date | None = None) -> str:
        """Return the download's name, e.g. fitspot-subscribers-subscribed-2026-11-27.csv."""
        return f"fitspot-subscribers-{self.status}-{(today or dt.date.today()).isoformat()}.csv"


def parse_date(name: str, value: str | None) -> dt.date | None:
    """Return a YYYY-MM-DD date, None when empty, or raise ExportError naming the field."""
    if value is None or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ExportError(f"{name} must be a date written YYYY-MM-DD, like 2026-01-31; got {value!r}.") from None


def iso_utc(column):
    """SQL writing a stored UTC timestamp as csvutil does (`2026-01-31T09:30:00Z`), to spare Python the work."""
    if db.session.get_bind().dialect.name == "sqlite":
        return func.strftime("%Y-%m-%dT%H:%M:%SZ", column)
    return func.to_char(column, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')


def export_columns() -> list:
    """The columns read for the CSV, in its order (timestamps already formatted), then id and link key."""
    table = Subscriber.__table__.c
    csv_order = [
        table.email,
        table.first_name,
        table.status,
        iso_utc(table.optin_time).label("optin_time"),
        table.optin_ip,
        iso_utc(table.confirm_time).label("confirm_time"),
        table.confirm_ip,
        iso_utc(table.unsub_time).label("unsub_time"),
        table.source,
        table.consent_version,
    ]
    return [*csv_order, table.id, table.link_key]


def subscriber_rows(export: ExportFilter, batch_size: int | None = None) -> Iterator:
    """Yield the matching subscribers as rows, in id order, one short transaction per batch."""
    batch_size = batch_size or current_app.config["OWNER_EXPORT_BATCH_SIZE"]
    query = db.select(*export_columns()).order_by(Subscriber.id).limit(batch_size)
    if export.status != "all":
        query = query.where(Subscriber.status == export.status)
    if export.since:
        query = query.where(Subscriber.optin_time >= dt.datetime.combine(export.since, dt.time()))
    if export.until:
        query = query.where(Subscriber.optin_time < dt.datetime.combine(export.until + dt.timedelta(days=1), dt.time()))
    last_id = 0
    while True:
        try:
            rows = db.session.execute(query.where(Subscriber.id > last_id)).all()
        finally:
            db.session.rollback()  # end the read transaction now: never hold a lock across batches
        yield from rows
        if len(rows) < batch_size:
            return
        last_id = rows[-1].id


def unsubscribe_links(sample) -> Callable:
    """Return a function giving a row's unsubscribe URL: the newsletter's `unsubscribe_url`, made fast.

    `unsubscribe_url` builds a serializer and a URL on every call, which costs more than all
    the rest of a big export. This builds both once, from the newsletter's own helpers, and
    signs each row's link key; it is used only when it gives, for `sample`, exactly what
    `unsubscribe_url` gives. Otherwise every row goes through `unsubscribe_url`.
    """
    serializer = unsubscribe_serializer()
    prefix, _, suffix = absolute_url("newsletter.unsubscribe", token=PLACEHOLDER).partition(PLACEHOLDER)

    def fast(row) -> str:
        return prefix + serializer.dumps(row.link_key) + suffix

    if fast(sample) == unsubscribe_url(sample):
        return fast
    current_app.logger.warning("export: unsubscribe links differ from unsubscribe_url(); signing row by row")
    return unsubscribe_url


def subscriber_csv_lines(export: ExportFilter, batch_size: int | None = None) -> Iterator[str]:
    """Yield the subscriber CSV line by line, header first."""

    def cells(rows: Iterator) -> Iterator[list]:
        link = None
        for row in rows:
            link = link or unsubscribe_links(row)
            yield [*row[:CSV_FIELDS], link(row)]

    return csv_lines(HEADER, cells(subscriber_rows(export, batch_size)))


def chunked(lines: Iterable[str], size: int) -> Iterator[str]:
    """Join lines into larger strings, so a big export is written in few calls."""
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= size:
            yield "".join(chunk)
            chunk.clear()
    if chunk:
        yield "".join(chunk)
