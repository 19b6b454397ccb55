"""The blog's articles, home page, feeds and health check."""

from .views import bp

__all__ = ["bp"]
