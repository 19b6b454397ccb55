"""The subscriber CSV: one generator of lines, used by the owner's download and the CLI.

Rows are read in keyset-paginated batches (`WHERE id > last ORDER BY id LIMIT n`), each in
its own short transaction, so a million subscribers stream in constant memory and the
export never holds SQLite's write lock (every SQLite transaction here is BEGIN IMMEDIATE)
for longer than one batch.
"""

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func

from ..csvutil import csv_lines
from ..extensions import db
from ..newsletter.links import UnsubscribeLinks
from ..newsletter.models import Subscriber

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


def subscriber_csv_lines(export: ExportFilter, batch_size: int | None = None) -> Iterator[str]:
    """Yield the subscriber CSV in chunks of whole lines, header first."""
    batch_size = batch_size or current_app.config["OWNER_EXPORT_BATCH_SIZE"]
    links = UnsubscribeLinks()  # built once: each row then costs one HMAC
    rows = ([*row[:CSV_FIELDS], links.url(row.link_key)] for row in subscriber_rows(export, batch_size))
    return csv_lines(HEADER, rows, rows_per_chunk=batch_size)  # a chunk a batch
