"""Absolute URLs, from `SITE_URL` when it is set, else from the request."""

from flask import current_app, request, url_for


def external_url(endpoint: str, **values) -> str:
    """Return the absolute URL of an endpoint, for links in mail, feeds and meta tags."""
    site = current_app.config.get("SITE_URL")
    if site:
        return site.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def base_url() -> str:
    """Return the site's absolute base URL, without a trailing slash."""
    return (current_app.config.get("SITE_URL") or request.host_url).rstrip("/")
