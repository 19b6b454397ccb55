"""`subscribers import FILE`: read a list exported by Mailchimp, Ghost, Kit, Buttondown or this app.

Headers are matched case-insensitively, ignoring spaces, underscores and hyphens. Someone
becomes `subscribed` only when the file says they confirmed (a status such as
`subscribed`/`active`, Ghost's `subscribed_to_emails`, Mailchimp's `CONFIRM_TIME`),
`unsubscribed` when it says they left or bounced, and `pending` otherwise. Nothing is
committed here: the caller commits once, so a crash leaves nothing half-imported.
"""

import csv
import datetime as dt
import ipaddress
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace

from ..csvutil import FORMULA_STARTS
from ..extensions import db
from ..idempotency import utcnow
from ..newsletter.addresses import InvalidAddress, clean_name, has_forbidden_characters, normalise_email
from ..newsletter.models import Subscriber

# What each column means, by its header with case, spaces, "_" and "-" removed.
HEADERS = {
    "email": ("emailaddress", "email", "mail"),
    "first_name": ("firstname", "fname", "givenname"),
    "name": ("name", "fullname"),
    "subscribed_to_emails": ("subscribedtoemails",),
    "status": ("status", "state", "subscribertype", "subscriptionstatus"),
    "optin_time": ("optintime", "createdat", "creationdate", "subscribedat", "signupdate", "dateadded"),
    "optin_ip": ("optinip", "ipaddress", "ip"),
    "confirm_time": ("confirmtime", "confirmedat"),
    "confirm_ip": ("confirmip",),
    "unsub_time": ("unsubtime", "unsubscribedat", "cleantime"),
    "source": ("sourcepage", "source", "referrerurl", "referrer"),
    "consent_version": ("consentversion",),
}
# Status words of the services we import from, and what they mean here.
STATUS_WORDS = {
    "subscribed": {
        "subscribed",
        "active",
        "confirmed",
        "regular",
        "premium",
        "gifted",
        "trialed",
        "paid",
        "paused",
        "churning",
        "pastdue",
        "unpaid",
    },
    "pending": {"pending", "unconfirmed", "inactive", "unactivated", "new"},
    "unsubscribed": {
        "unsubscribed",
        "cancelled",
        "canceled",
        "cleaned",
        "bounced",
        "complained",
        "removed",
        "churned",
        "spammy",
        "undeliverable",
        "archived",
    },
}
TRUE_WORDS = {"true", "yes", "y", "1", "subscribed"}
FALSE_WORDS = {"false", "no", "n", "0", "unsubscribed"}
LIMITS = {"optin_ip": 45, "confirm_ip": 45, "source": 300, "consent_version": 20}
LOOKUP_CHUNK = 500
TIME_FIELDS = ("optin_time", "confirm_time", "unsub_time")


class RowError(ValueError):
    """One row that cannot be imported; the message says which field and why."""


@dataclass
class Record:
    """One person as a file describes them, in this app's terms."""

    email: str
    email_key: str
    status: str
    first_name: str | None = None
    optin_time: dt.datetime | None = None
    optin_ip: str | None = None
    confirm_time: dt.datetime | None = None
    confirm_ip: str | None = None
    unsub_time: dt.datetime | None = None
    source: str | None = None
    consent_version: str | None = None


@dataclass
class ImportResult:
    added: int = 0
    merged: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.added} added, {self.merged} merged with an address already on the list or earlier "
            f"in the file, {self.skipped} skipped."
        )


def header_key(name: str) -> str:
    return "".join(ch for ch in name.strip().lower() if ch not in " _-")


def column_map(header: list[str]) -> dict[str, list[int]]:
    """Return, for each field this app knows, the positions of the columns that carry it."""
    positions: dict[str, list[int]] = {}
    keys = [header_key(h) for h in header]
    for name, accepted in HEADERS.items():
        for wanted in accepted:
            positions.setdefault(name, []).extend(i for i, k in enumerate(keys) if k == wanted)
    if not positions["email"]:
        raise ValueError(f"no email column: the header needs one such as 'Email Address' or 'email' (it has {header})")
    return {name: found for name, found in positions.items() if found}


def unescape(value: str) -> str:
    """Undo the formula escaping of our own export ("'=x" was written for "=x")."""
    if value.startswith("'") and value[1:2] and value[1] in "".join(FORMULA_STARTS):
        return value[1:]
    return value


def clean_text(value: str) -> str:
    """Collapse whitespace (line breaks too) and refuse control characters."""
    text = " ".join(value.split())
    if has_forbidden_characters(text, allow_format=True):
        raise RowError(f"{text!r} contains control characters")
    return text


def parse_time(label: str, value: str) -> dt.datetime | None:
    """Return a naive UTC datetime from ISO 8601 (or Mailchimp's 'YYYY-MM-DD HH:MM:SS'), or None."""
    text = value.strip().removesuffix(" UTC").removesuffix(" GMT")
    if not text:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise RowError(f"{label} {value!r} is not a date and time like 2026-01-31 09:30:00") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed.replace(microsecond=0)


def parse_ip(label: str, value: str) -> str | None:
    text = value.strip()
    if not text:
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise RowError(f"{label} {value!r} is not an IP address") from None


def normalise_address(raw: str) -> tuple[str, str]:
    """Return (email as stored, uniqueness key), exactly as the newsletter's signup does."""
    try:
        address = normalise_email(raw)
    except InvalidAddress as exc:
        raise RowError(f"{raw.strip()!r}: {exc}") from None
    return address.email, address.key


def decide_status(cells: dict[str, str], times: dict[str, dt.datetime | None]) -> str:
    """Return pending, subscribed or unsubscribed from what the row says."""
    flag = cells.get("subscribed_to_emails", "").strip().lower()
    if flag:
        if flag in TRUE_WORDS:
            return "subscribed"
        if flag in FALSE_WORDS:
            return "unsubscribed"
        raise RowError(f"subscribed_to_emails {flag!r} is neither true nor false")
    word = header_key(cells.get("status", ""))
    if word:
        for status, words in STATUS_WORDS.items():
            if word in words:
                return status
        if word not in {"free", "comped"}:  # Ghost's membership levels say nothing about email
            raise RowError(f"status {cells['status']!r} is not one we know (subscribed, pending, unsubscribed…)")
    if times["unsub_time"]:
        return "unsubscribed"
    if times["confirm_time"]:
        return "subscribed"
    return "pending"


def parse_row(cells: dict[str, str]) -> Record:
    """Turn one row's cells into a Record, or raise RowError."""
    email, key = normalise_address(cells.get("email", ""))
    times = {name: parse_time(name.upper(), cells.get(name, "")) for name in TIME_FIELDS}
    record = Record(email=email, email_key=key, status=decide_status(cells, times), **times)
    first = cells.get("first_name") or (cells.get("name") or "").strip().split(" ")[0]
    try:
        record.first_name = clean_name(" ".join(unescape(first).split()))
    except InvalidAddress as exc:
        raise RowError(f"first name {first!r}: {exc}") from None
    record.optin_ip = parse_ip("OPTIN_IP", cells.get("optin_ip", ""))
    record.confirm_ip = parse_ip("CONFIRM_IP", cells.get("confirm_ip", ""))
    record.source = clean_text(unescape(cells.get("source", ""))) or None
    record.consent_version = clean_text(cells.get("consent_version", "")) or None
    for name, limit in LIMITS.items():
        value = getattr(record, name)
        if value and len(value) > limit:
            raise RowError(f"{name.replace('_', ' ')} is longer than {limit} characters")
    if record.status != "unsubscribed":
        record.unsub_time = None
    return record


def merged_status(a: Record, b: Record) -> str:
    """Unsubscribing wins, unless a confirmation came after it; confirmed beats pending."""
    statuses = {a.status, b.status}
    if "unsubscribed" in statuses:
        gone, other = (a, b) if a.status == "unsubscribed" else (b, a)
        later = other.status == "subscribed" and other.confirm_time and gone.unsub_time
        return "subscribed" if later and other.confirm_time > gone.unsub_time else "unsubscribed"
    return "subscribed" if "subscribed" in statuses else "pending"


def merge(a: Record, b: Record) -> Record:
    """Combine two descriptions of one person; `a` (already known) keeps its address as written."""
    status = merged_status(a, b)
    optins = [r for r in (a, b) if r.optin_time]
    first_optin = min(optins, key=lambda r: r.optin_time) if optins else a
    confirms = [r.confirm_time for r in (a, b) if r.confirm_time]
    unsubs = [r.unsub_time for r in (a, b) if r.unsub_time]
    return replace(
        a,
        status=status,
        first_name=a.first_name or b.first_name,
        optin_time=first_optin.optin_time,
        optin_ip=first_optin.optin_ip or a.optin_ip or b.optin_ip,
        confirm_time=min(confirms) if confirms else None,
        confirm_ip=a.confirm_ip or b.confirm_ip,
        unsub_time=max(unsubs) if unsubs and status == "unsubscribed" else None,
        source=a.source or b.source,
        consent_version=a.consent_version or b.consent_version,
    )


def read_rows(path: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number where the row starts, {field: cell}) for each non-empty row."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        first_line = fh.readline()
        fh.seek(0)
        delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
        reader = csv.reader(fh, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            raise ValueError("the file is empty")
        columns = column_map(header)
        line = reader.line_num + 1
        for row in reader:
            if any(cell.strip() for cell in row):
                cells = {}
                for name, positions in columns.items():
                    values = [row[i] for i in positions if i < len(row) and row[i].strip()]
                    cells[name] = values[0] if values else ""
                yield line, cells
            line = reader.line_num + 1


def import_subscribers(path: str) -> ImportResult:
    """Add or merge every good row of the file into the subscribers table (not committed)."""
    result = ImportResult()
    records: dict[str, Record] = {}
    for line, cells in read_rows(path):
        try:
            record = parse_row(cells)
        except RowError as exc:
            result.skipped += 1
            result.problems.append(f"line {line}: skipped: {exc}")
            continue
        if record.email_key in records:
            result.merged += 1
            records[record.email_key] = merge(records[record.email_key], record)
        else:
            records[record.email_key] = record

    source = f"imported from {os.path.basename(path)}"[:300]
    now = utcnow()
    keys = list(records)
    for start in range(0, len(keys), LOOKUP_CHUNK):
        chunk = keys[start : start + LOOKUP_CHUNK]
        existing = {
            s.email_key: s
            for s in db.session.execute(db.select(Subscriber).where(Subscriber.email_key.in_(chunk))).scalars()
        }
        for key in chunk:
            record = records[key]
            row = existing.get(key)
            if row is None:
                result.added += 1
                values = {f.name: getattr(record, f.name) for f in fields(Record)}
                values["optin_time"] = record.optin_time or record.confirm_time or now
                values["source"] = record.source or source
                db.session.add(Subscriber(**values, mail_owed=False))  # an import never mails anyone
                continue
            result.merged += 1
            known = Record(**{f.name: getattr(row, f.name) for f in fields(Record)})
            combined = merge(known, record)
            for f in fields(Record):
                setattr(row, f.name, getattr(combined, f.name))
            if combined.status != "pending":
                row.mail_owed = False
        db.session.flush()
    return result
