"""The owner's area."""

from . import models  # noqa: F401  (the tables, for Alembic)
from .cli import owner_cli
from .views import bp

commands = [owner_cli]
__all__ = ["bp", "commands"]
