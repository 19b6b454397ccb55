"""Idempotency keys: a public POST replayed from an offline queue is applied once.

The key is claimed inside the same transaction as the write it guards, so the two
commit together or not at all; a replay finds the key taken and changes nothing.
"""

import datetime as dt
import re

from flask import request
from sqlalchemy import DateTime, String, bindparam, delete, text
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db

KEY_RE = re.compile(r"[A-Za-z0-9._:-]{8,100}")
KEEP_FOR = dt.timedelta(days=90)


def utcnow() -> dt.datetime:
    """Return the current time in UTC, without tzinfo (how it is stored)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class IdempotencyKey(db.Model):
    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    scope: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


# Plain SQL, the same on SQLite and PostgreSQL: every public POST runs it, and building the
# statement with the ORM each time costs three times what running it does.
CLAIM = text(
    "INSERT INTO idempotency_keys (key, scope, created_at) VALUES (:key, :scope, :created_at) "
    "ON CONFLICT (key) DO NOTHING RETURNING key"
).bindparams(bindparam("created_at", type_=DateTime()))


class BadIdempotencyKey(ValueError):
    """The client sent a key that is not a key."""


def key_from_request() -> str | None:
    """Return the request's `Idempotency-Key` (header or form field), or None."""
    key = request.headers.get("Idempotency-Key") or request.form.get("idempotency_key") or None
    if key is not None and not KEY_RE.fullmatch(key):
        raise BadIdempotencyKey("Idempotency-Key must be 8 to 100 letters, digits or . _ : -")
    return key


def claim(key: str | None, scope: str) -> bool:
    """Claim `key` in the current transaction; False when it was applied before.

    With no key there is nothing to dedupe against, and the write goes ahead.
    """
    if key is None:
        return True
    row = db.session.execute(CLAIM, {"key": key, "scope": scope, "created_at": utcnow()}).first()
    return row is not None


def prune(now: dt.datetime | None = None) -> int:
    """Delete keys older than the longest an offline queue may hold a request."""
    cutoff = (now or utcnow()) - KEEP_FOR
    return db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff)).rowcount
