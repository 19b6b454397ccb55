"""Was this page helpful?"""

from . import models  # noqa: F401  (the tables, for Alembic)
from .cli import feedback_cli
from .views import bp

commands = [feedback_cli]
__all__ = ["bp", "commands"]
