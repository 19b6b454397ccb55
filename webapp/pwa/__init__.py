"""The installable, offline-first side of the site."""

from .cli import pwa_cli
from .views import bp

commands = [pwa_cli]

__all__ = ["bp", "commands"]
