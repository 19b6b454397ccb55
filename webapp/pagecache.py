"""Public pages rendered and compressed once, then served from memory with an ETag.

A public page is the same bytes for every reader (no cookie, no per-reader token), so a
worker renders it on first request through Flask and keeps the bytes, their gzip form and
their headers. Every later GET of that URL, including `If-None-Match` revalidations, is
answered by `PageCacheMiddleware` in front of Flask: no routing, no hooks, no template.
"""

import functools
import gzip
import hashlib
import threading
from dataclasses import dataclass

from flask import Flask, Response, current_app, request

from .security import HSTS, SECURITY_HEADERS

MAX_PAGES = 1000
_lock = threading.Lock()


@dataclass(frozen=True)
class Page:
    body: bytes
    gzipped: bytes | None  # None when gzip would not make it smaller
    etag: str  # quoted, as sent
    headers: list[tuple[str, str]]  # everything but the body's own length and encoding


def is_text(mimetype: str) -> bool:
    return mimetype.startswith("text/") or mimetype.endswith(("xml", "json", "javascript", "svg+xml"))


def build_page(body: str | bytes, mimetype: str, cache_control: str) -> Page:
    """Return a page with its gzip form, a strong ETag of its bytes and its headers, built once."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    etag = '"' + hashlib.sha256(raw).hexdigest()[:32] + '"'
    content_type = f"{mimetype}; charset=utf-8" if is_text(mimetype) else mimetype
    gzipped = gzip.compress(raw, compresslevel=9, mtime=0) if is_text(mimetype) else None
    return Page(
        body=raw,
        gzipped=gzipped if gzipped and len(gzipped) < len(raw) else None,
        etag=etag,
        headers=[
            ("Content-Type", content_type),
            ("ETag", etag),
            ("Cache-Control", cache_control),
            ("Vary", "Accept-Encoding"),
            *SECURITY_HEADERS,
        ],
    )


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Tell whether an `If-None-Match` header names this ETag (weak comparison, RFC 9110)."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


def accepts_gzip(accept_encoding: str) -> bool:
    """Tell whether an `Accept-Encoding` header allows gzip (and doesn't refuse it with q=0)."""
    for part in accept_encoding.lower().split(","):
        name, _, params = part.strip().partition(";")
        if name in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def answer(page: Page, environ: dict) -> tuple[str, list[tuple[str, str]], bytes]:
    """Return status, headers and body for a request of this page."""
    headers = list(page.headers)
    if environ.get("wsgi.url_scheme") == "https":
        headers.append(HSTS)
    if etag_matches(environ.get("HTTP_IF_NONE_MATCH", ""), page.etag):
        return "304 Not Modified", headers, b""
    body = page.body
    if page.gzipped is not None and accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", "")):
        body = page.gzipped
        headers.append(("Content-Encoding", "gzip"))
    headers.append(("Content-Length", str(len(body))))
    if page.gzipped is None:  # nothing varies by encoding
        headers = [h for h in headers if h != ("Vary", "Accept-Encoding")]
    return "200 OK", headers, body


def cache_key(site_url: str, environ: dict):
    """Key a page by path; without SITE_URL absolute links come from the Host header, so by host too."""
    path = environ.get("PATH_INFO", "")
    return path if site_url else (environ.get("HTTP_HOST", ""), path)


class PageCacheMiddleware:
    """Answer GET and HEAD of a hashed static file or an already-rendered public page
    without entering Flask."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self.pages: dict = app.extensions.setdefault("pagecache", {})
        self.static: dict = app.extensions.setdefault("static_pages", {})  # filled by assets.py

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        if method in ("GET", "HEAD") and not environ.get("QUERY_STRING"):
            page = self.static.get(environ.get("PATH_INFO")) or self.pages.get(
                cache_key(self.app.config.get("SITE_URL"), environ)
            )
            if page is not None:
                status, headers, body = answer(page, environ)
                start_response(status, headers)
                return [b""] if method == "HEAD" else [body]
        return self.wsgi_app(environ, start_response)


def cached_page(mimetype: str = "text/html", cache_control: str = "no-cache"):
    """Cache what a public view returns, per path, for the life of the worker.

    Requests with a query string are rendered each time (still compressed and ETagged) so
    that nobody can fill the cache with made-up URLs, and so a view may use its arguments.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            result = view(*args, **kwargs)
            if isinstance(result, Response):  # redirects, errors: not cached
                return result
            page = build_page(result, mimetype, cache_control)
            if not request.query_string:
                pages = current_app.extensions.setdefault("pagecache", {})
                with _lock:
                    if len(pages) >= MAX_PAGES:
                        pages.clear()
                    pages[cache_key(current_app.config.get("SITE_URL"), request.environ)] = page
            status, headers, body = answer(page, request.environ)
            return Response(body, status=status, headers=headers)

        return wrapper

    return decorator
