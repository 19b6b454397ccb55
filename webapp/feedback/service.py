"""The work behind "Was this page helpful?": votes, comments, totals and the CSV.

The views, the `flask feedback` commands and the owner's dashboard all call these
functions. None of them commits: the caller does, once, so that an idempotency key and
the write it guards land together or not at all.
"""

import secrets
from collections.abc import Iterator

from flask import current_app
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import DateTime, bindparam, case, func, text

from ..csvutil import csv_lines
from ..extensions import db
from ..idempotency import claim, utcnow
from .forms import VOTES
from .models import Vote

CSV_HEADER = ["article", "vote", "comment", "created_at", "updated_at"]


def new_vote_id() -> str:
    """Return a random vote id, for a reader whose browser did not send one (no JavaScript)."""
    return secrets.token_urlsafe(18)


def _upsert(columns: list[str], update: list[str]):
    """Return INSERT … ON CONFLICT (article, vote_id) DO UPDATE, in SQL that SQLite and PostgreSQL share.

    Plain SQL because every vote runs it: building it with the ORM costs more than running it.
    """
    names = ", ".join(columns)
    values = ", ".join(f":{c}" for c in columns)
    changes = ", ".join(f"{c} = excluded.{c}" for c in update)
    return text(
        f"INSERT INTO votes ({names}) VALUES ({values}) ON CONFLICT (article, vote_id) DO UPDATE SET {changes}"  # noqa: S608
    ).bindparams(bindparam("created_at", type_=DateTime()), bindparam("updated_at", type_=DateTime()))


UPSERT_VOTE = _upsert(["article", "vote_id", "vote", "created_at", "updated_at"], ["vote", "updated_at"])
UPSERT_COMMENT = _upsert(
    ["article", "vote_id", "vote", "comment", "created_at", "updated_at"], ["comment", "updated_at"]
)


def _store_once(statement, row: dict, scope: str, idempotency_key: str | None) -> bool:
    """Run an upsert unless `idempotency_key` was applied before (then change nothing, return False)."""
    if row["vote"] not in VOTES:
        raise ValueError(f"vote must be one of {VOTES}, not {row['vote']!r}")
    if not claim(idempotency_key, scope):
        return False
    now = utcnow()
    db.session.execute(statement, {**row, "created_at": now, "updated_at": now})
    return True


def record_vote(article: str, vote: str, vote_id: str, idempotency_key: str | None = None) -> bool:
    """Store a reader's vote on an article, or change the vote they gave before.

    One row per (article, vote_id): a reader who answers Yes, then No, leaves one No.
    Returns False, and changes nothing, when `idempotency_key` was applied before.
    """
    row = {"article": article, "vote_id": vote_id, "vote": vote}
    return _store_once(UPSERT_VOTE, row, "feedback.vote", idempotency_key)


def add_comment(article: str, vote_id: str, vote: str, comment: str, idempotency_key: str | None = None) -> bool:
    """Attach a comment to the reader's vote (replacing an earlier comment).

    `vote` is only used when the vote row is missing (it was never stored, e.g. the vote
    was queued offline and is still on its way); an existing vote keeps its answer.
    Returns False, and changes nothing, when `idempotency_key` was applied before.
    """
    row = {"article": article, "vote_id": vote_id, "vote": vote, "comment": comment}
    return _store_once(UPSERT_COMMENT, row, "feedback.comment", idempotency_key)


def _has_comment():
    return (Vote.comment.is_not(None)) & (Vote.comment != "")


def article_totals() -> list[dict]:
    """Return each article's votes: yes, no, votes, helpful_pct (None without votes), comments.

    Every published article is listed, with zeros when nobody has voted yet, followed by
    any slug that has votes but no longer has an article. Each dict also has `title`
    (None for such a slug). Ordered by most votes first, then by slug.
    """
    rows = db.session.execute(
        db.select(
            Vote.article,
            func.sum(case((Vote.vote == "yes", 1), else_=0)),
            func.sum(case((Vote.vote == "no", 1), else_=0)),
            func.sum(case((_has_comment(), 1), else_=0)),
        ).group_by(Vote.article)
    ).all()
    counts = {article: (int(yes or 0), int(no or 0), int(comments or 0)) for article, yes, no, comments in rows}
    titles = {a.slug: a.title for a in current_app.extensions["library"].articles}
    totals = []
    for slug in titles.keys() | counts.keys():
        yes, no, comments = counts.get(slug, (0, 0, 0))
        votes = yes + no
        totals.append(
            {
                "article": slug,
                "title": titles.get(slug),
                "yes": yes,
                "no": no,
                "votes": votes,
                "helpful_pct": round(100 * yes / votes, 1) if votes else None,
                "comments": comments,
            }
        )
    totals.sort(key=lambda t: (-t["votes"], t["article"]))
    return totals


def latest_comments(article: str | None = None, page: int = 1, per_page: int = 20) -> Pagination:
    """Return one page of the votes that carry a comment, newest first (by `updated_at`).

    A Flask-SQLAlchemy `Pagination`: `.items` (Vote rows), `.total`, `.pages`,
    `.has_next`, `.next_num`, `.iter_pages()`. A page past the end is empty, never a 404.
    """
    query = db.select(Vote).where(_has_comment())
    if article is not None:
        query = query.where(Vote.article == article)
    query = query.order_by(Vote.updated_at.desc(), Vote.id.desc())
    return db.paginate(query, page=page, per_page=per_page, max_per_page=200, error_out=False)


def feedback_csv_lines() -> Iterator[str]:
    """Return the feedback CSV (every vote, oldest first) as an iterator of lines.

    The rows are read when this is called, so the iterator needs no app context and
    can be streamed as a response body as is. The CLI and the owner's download use it:
    the same bytes.
    """
    rows = db.session.execute(
        db.select(Vote.article, Vote.vote, Vote.comment, Vote.created_at, Vote.updated_at).order_by(
            Vote.created_at, Vote.id
        )
    ).all()
    return csv_lines(CSV_HEADER, rows)
