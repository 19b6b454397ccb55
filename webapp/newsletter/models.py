"""Newsletter subscribers and the evidence of their consent."""

import datetime as dt
import secrets

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..idempotency import utcnow

STATUSES = ("pending", "subscribed", "unsubscribed")


def new_link_key() -> str:
    """Return a random key that identifies a subscriber inside signed links (never the address)."""
    return secrets.token_urlsafe(18)


class Subscriber(db.Model):
    """One person on the list, with their consent record."""

    __tablename__ = "subscribers"
    __table_args__ = (CheckConstraint("status IN ('pending', 'subscribed', 'unsubscribed')", name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))  # as typed, domain normalised
    email_key: Mapped[str] = mapped_column(String(254), unique=True)  # lower-cased: one person, one row
    # Signed links name the row by this random key, so no address appears in URLs or access logs,
    # and a link dies with its row: an erased person who signs up again gets a new key.
    link_key: Mapped[str] = mapped_column(String(32), unique=True, default=new_link_key)
    first_name: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    source: Mapped[str | None] = mapped_column(String(300))  # the page they signed up on
    consent_version: Mapped[str | None] = mapped_column(String(20))
    optin_time: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    optin_ip: Mapped[str | None] = mapped_column(String(45))
    confirm_time: Mapped[dt.datetime | None] = mapped_column(index=True)
    confirm_ip: Mapped[str | None] = mapped_column(String(45))
    unsub_time: Mapped[dt.datetime | None]
    mail_owed: Mapped[bool] = mapped_column(default=False, index=True)  # a confirmation still to send
    last_mailed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
