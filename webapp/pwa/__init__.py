"""The installable, offline-first side of the site."""

from .views import bp

__all__ = ["bp"]
