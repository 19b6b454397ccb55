"""The blog's owner accounts."""

import datetime as dt

from flask_login import UserMixin
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..idempotency import utcnow


class Owner(UserMixin, db.Model):
    """Someone who may log in to /owner/."""

    __tablename__ = "owners"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # lower-cased
    password_hash: Mapped[str] = mapped_column(String(255))
    session_version: Mapped[int] = mapped_column(default=1)  # bumped on logout: old cookies die
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]

    def get_id(self) -> str:
        """Return what the session cookie stores: the id and the session version it is valid for."""
        return f"{self.id}:{self.session_version}"

    def end_sessions(self) -> None:
        """Make every session cookie issued so far worthless (logout, new password)."""
        self.session_version += 1
