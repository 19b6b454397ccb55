"""Newsletter signups with double opt-in."""

from . import models  # noqa: F401  (the tables, for Alembic)
from .views import bp

__all__ = ["bp"]
