"""Newsletter signups with double opt-in."""

from . import models  # noqa: F401  (the tables, for Alembic)
from .cli import newsletter_cli, subscribers_cli
from .views import bp

commands = [subscribers_cli, newsletter_cli]
__all__ = ["bp", "commands"]
