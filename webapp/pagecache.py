"""Public pages rendered and compressed once, then served from memory with an ETag.

A public page is the same bytes for every reader (no cookie, no per-reader token), so a
worker renders it on first request and answers every later request, including
`If-None-Match` revalidations, without running a template again.
"""

import functools
import gzip
import hashlib
import threading
from dataclasses import dataclass

from flask import Response, current_app, request

from .security import SECURITY_HEADERS


@dataclass(frozen=True)
class Page:
    body: bytes
    gzipped: bytes
    etag: str
    headers: list[tuple[str, str]]  # everything but the body's own length and encoding


def build_page(body: str | bytes, mimetype: str, cache_control: str) -> Page:
    """Return a page with its gzip form, a strong ETag of its bytes and its headers, built once."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    etag = hashlib.sha256(raw).hexdigest()[:32]
    content_type = f"{mimetype}; charset=utf-8" if mimetype.startswith("text/") or "xml" in mimetype else mimetype
    return Page(
        body=raw,
        gzipped=gzip.compress(raw, compresslevel=9, mtime=0),
        etag=etag,
        headers=[
            ("Content-Type", content_type),
            ("ETag", f'"{etag}"'),
            ("Cache-Control", cache_control),
            ("Vary", "Accept-Encoding"),
            *SECURITY_HEADERS,
        ],
    )


def page_response(page: Page) -> Response:
    """Answer with the page: 304 on a matching ETag, gzip when the client accepts it."""
    if request.if_none_match.contains(page.etag):
        return Response(status=304, headers=page.headers)
    if "gzip" in request.accept_encodings:
        return Response(page.gzipped, headers=[*page.headers, ("Content-Encoding", "gzip")])
    return Response(page.body, headers=page.headers)


_lock = threading.Lock()
MAX_PAGES = 1000


def cached_page(mimetype: str = "text/html", cache_control: str = "no-cache"):
    """Cache what a public view returns, per path, for the life of the worker.

    Requests with a query string are rendered each time (still compressed and
    ETagged) so that nobody can fill the cache with made-up URLs.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            cache = current_app.extensions.setdefault("pagecache", {})
            # Without SITE_URL, absolute links come from the Host header: keep hosts apart.
            key = request.path if current_app.config.get("SITE_URL") else (request.host, request.path)
            page = cache.get(key) if not request.query_string else None
            if page is None:
                result = view(*args, **kwargs)
                if isinstance(result, Response):  # redirects, errors: not cached
                    return result
                page = build_page(result, mimetype, cache_control)
                if not request.query_string:
                    with _lock:
                        if len(cache) >= MAX_PAGES:
                            cache.clear()
                        cache[key] = page
            return page_response(page)

        return wrapper

    return decorator
