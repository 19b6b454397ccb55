"""Security headers on every response, and cross-site request checks on every POST."""

from urllib.parse import urlsplit

from flask import Flask, abort, current_app, request

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=(), browsing-topics=()"
)
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def site_origin() -> str:
    """Return this site's own origin, `scheme://host[:port]`."""
    configured = current_app.config.get("SITE_URL")
    parts = urlsplit(configured or request.host_url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def is_cross_site(req) -> bool:
    """Tell whether a state-changing request comes from another site.

    Fetch Metadata first (`Sec-Fetch-Site`), then the `Origin` header; a request with
    neither is not from a browser (curl, a mail provider's one-click unsubscribe) and
    carries no ambient authority worth forging, so it passes.
    """
    fetch_site = req.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = req.headers.get("Origin")
    if origin is None:
        return False
    own = {site_origin(), f"{req.scheme}://{req.host}".lower()}
    return origin.lower() not in own


SECURITY_HEADERS = [
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Permissions-Policy", PERMISSIONS_POLICY),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
]
HSTS = ("Strict-Transport-Security", "max-age=63072000; includeSubDomains")


def add_headers(response):
    """Add the security headers every response carries (cached pages come with them)."""
    headers = response.headers
    if "Content-Security-Policy" not in headers:
        for name, value in SECURITY_HEADERS:
            headers.setdefault(name, value)
    if request.is_secure:
        headers.setdefault(*HSTS)
    return response


def init_app(app: Flask) -> None:
    """Refuse oversized, cross-site and JSON writes before any view runs; add headers after."""

    @app.before_request
    def refuse_oversized_and_cross_site_writes():
        if request.method not in UNSAFE_METHODS:
            return
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit and (request.content_length or 0) > limit:
            abort(413, description=f"Requests are limited to {limit // 1024} KB.")
        if is_cross_site(request):
            app.logger.warning("refused cross-site %s %s", request.method, request.path)
            abort(403, description="This form can only be sent from this site's own pages.")
        if request.is_json:  # every form here is urlencoded; Flask-WTF would take any JSON as form data
            abort(415, description="Send the form as application/x-www-form-urlencoded, not JSON.")

    app.after_request(add_headers)
