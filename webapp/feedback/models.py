"""A reader's answer to "Was this page helpful?"."""

import datetime as dt

from sqlalchemy import CheckConstraint, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..idempotency import utcnow


class Vote(db.Model):
    """One reader's vote on one article; changing their mind updates the same row."""

    __tablename__ = "votes"
    __table_args__ = (
        UniqueConstraint("article", "vote_id", name="uq_votes_article_vote_id"),
        CheckConstraint("vote IN ('yes', 'no')", name="vote_yes_or_no"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article: Mapped[str] = mapped_column(String(200))  # the slug; indexed by the unique pair
    vote_id: Mapped[str] = mapped_column(String(64))  # random, made by the reader's browser
    vote: Mapped[str] = mapped_column(String(3))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
