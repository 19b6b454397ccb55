"""The numbers on the owner's dashboard: subscribers by status, and signups per day."""

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Date, cast, func

from ..extensions import db
from ..idempotency import utcnow
from ..newsletter.models import STATUSES, Subscriber

CHART_DAYS = 90


def status_counts() -> dict[str, int]:
    """Return how many subscribers have each status, plus `total`."""
    rows = db.session.execute(db.select(Subscriber.status, func.count()).group_by(Subscriber.status)).all()
    counts = dict.fromkeys(STATUSES, 0) | {status: count for status, count in rows}
    counts["total"] = sum(counts.values())
    return counts


def day_of(column):
    """Return SQL for the UTC day of a timestamp column, on SQLite and PostgreSQL alike."""
    if db.session.get_bind().dialect.name == "sqlite":
        return func.date(column)  # 'YYYY-MM-DD' text
    return cast(column, Date)


def per_day(column, start: dt.date) -> dict[dt.date, int]:
    """Return how many rows have `column` on each day from `start` on (days with none are absent)."""
    day = day_of(column)
    rows = db.session.execute(
        db.select(day, func.count()).where(column >= dt.datetime.combine(start, dt.time())).group_by(day)
    ).all()
    return {dt.date.fromisoformat(str(d)): n for d, n in rows if d is not None}


@dataclass(frozen=True)
class Day:
    date: dt.date
    signups: int
    confirmations: int


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    height: float
    label: str


class Chart:
    """Signups and confirmations per day, with the geometry of a server-drawn SVG bar chart."""

    WIDTH = 900  # viewBox units: ten per day
    HEIGHT = 200
    SLOT = WIDTH / CHART_DAYS
    BAR = SLOT * 0.4

    def __init__(self, days: list[Day]):
        self.days = days
        self.total_signups = sum(d.signups for d in days)
        self.total_confirmations = sum(d.confirmations for d in days)
        self.peak = max([d.signups for d in days] + [d.confirmations for d in days] + [0])
        self.scale_max = nice_ceiling(self.peak)

    @property
    def first(self) -> dt.date:
        return self.days[0].date

    @property
    def last(self) -> dt.date:
        return self.days[-1].date

    def _height(self, n: int) -> float:
        return round(self.HEIGHT * n / self.scale_max, 2) if n else 0

    def bars(self, kind: str) -> list[Bar]:
        """Return one bar per day for `signups` or `confirmations`."""
        offset = self.SLOT * 0.1 if kind == "signups" else self.SLOT * 0.5
        bars = []
        for i, day in enumerate(self.days):
            n = getattr(day, kind)
            h = self._height(n)
            noun = (
                ("signup" if n == 1 else "signups")
                if kind == "signups"
                else ("confirmation" if n == 1 else "confirmations")
            )
            bars.append(Bar(round(i * self.SLOT + offset, 2), round(self.HEIGHT - h, 2), h, f"{day.date}: {n} {noun}"))
        return bars

    def gridlines(self) -> list[tuple[float, int]]:
        """Return (y, value) for the horizontal guides: zero, half and the top of the scale."""
        values = (0, self.scale_max // 2, self.scale_max)
        return [(self.HEIGHT - self._height(v), v) for v in values]


def nice_ceiling(n: int) -> int:
    """Return a round number at least `n` (and at least 2), for the top of the scale."""
    for step in (2, 4, 10, 20, 40, 100, 200, 400, 1000, 2000, 4000, 10_000, 20_000, 40_000, 100_000):
        if n <= step:
            return step
    return n + (-n % 100_000)


def signup_chart(today: dt.date | None = None) -> Chart:
    """Return signups (opt-in time) and confirmations per UTC day for the last 90 days."""
    today = today or utcnow().date()
    start = today - dt.timedelta(days=CHART_DAYS - 1)
    signups = per_day(Subscriber.optin_time, start)
    confirmations = per_day(Subscriber.confirm_time, start)
    days = [start + dt.timedelta(days=i) for i in range(CHART_DAYS)]
    return Chart([Day(d, signups.get(d, 0), confirmations.get(d, 0)) for d in days])
