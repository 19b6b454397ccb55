"""Configuration defaults, overridden by the environment, then by a test mapping."""

import datetime as dt
import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Names read from the environment, and how each is parsed.
ENV_SETTINGS = {
    "SECRET_KEY": str,
    "DATABASE_URL": str,
    "SITE_URL": str,
    "MAIL_SERVER": str,
    "MAIL_PORT": int,
    "MAIL_USE_TLS": lambda v: v.lower() in {"1", "true", "yes", "on"},
    "MAIL_USE_SSL": lambda v: v.lower() in {"1", "true", "yes", "on"},
    "MAIL_USERNAME": str,
    "MAIL_PASSWORD": str,
    "MAIL_DEFAULT_SENDER": str,
    "RATELIMIT_STORAGE_URI": str,
    "RATELIMIT_ENABLED": lambda v: v.lower() in {"1", "true", "yes", "on"},  # false only for benchmarks
    "WEB_CONCURRENCY": int,
    # feedback: rate limits per client IP, and a key prefix when several sites share one Redis
    "FEEDBACK_VOTE_RATE_LIMIT": str,
    "FEEDBACK_COMMENT_RATE_LIMIT": str,
    "RATELIMIT_KEY_PREFIX": str,
    # pwa: where the articles live (a copy, for staging or tests), the service worker's network timeout
    "CONTENT_DIR": str,
    "PWA_NETWORK_TIMEOUT_MS": int,
    # newsletter: mail time-out, what is kept of IP addresses, DNS checks, rate limits
    "MAIL_TIMEOUT": int,
    "NEWSLETTER_IP_STORAGE": str,
    "NEWSLETTER_CHECK_DELIVERABILITY": lambda v: v.lower() in {"1", "true", "yes", "on"},
    "NEWSLETTER_RATE_LIMIT_PER_IP": str,
    "NEWSLETTER_RATE_LIMIT_PER_ADDRESS": str,
}


class Defaults:
    """Embedded defaults: SQLite and a mail outbox in `instance/`."""

    SITE_NAME = "Steven Fitspot"
    SITE_TAGLINE = "Dedicated to Helping You Reach Peak Performance Naturally"
    SITE_URL = ""  # empty: links are built from the request's own host
    CONTENT_DIR = str(ROOT / "content")
    DATABASE_URL = ""  # empty: sqlite:///<instance>/fitspot.sqlite3
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    MAX_CONTENT_LENGTH = 64 * 1024  # forms are small; anything bigger is a mistake or an attack
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "fitspot_session"
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_ENABLED = True
    WEB_CONCURRENCY = 2
    WTF_CSRF_TIME_LIMIT = None  # the owner's token lives as long as the session
    SQLITE_BUSY_TIMEOUT_MS = 10_000
    TRUSTED_PROXIES = 1

    # pwa (webapp/pwa/): how long the service worker waits for the network before it answers a
    # navigation from its cache (a walker on one bar of signal), and the installed app's colours.
    PWA_NETWORK_TIMEOUT_MS = 3000
    PWA_SHORT_NAME = "Fitspot"
    PWA_THEME_COLOR = "#0b6e4f"
    PWA_BACKGROUND_COLOR = "#ffffff"

    # Owner area (webapp/owner/): the session dies after this much idle time, or this long
    # after login whatever happens; failed logins allowed per email and per IP.
    PERMANENT_SESSION_LIFETIME = dt.timedelta(minutes=30)
    SESSION_REFRESH_EACH_REQUEST = True
    OWNER_SESSION_MAX_AGE = dt.timedelta(hours=12)
    OWNER_PASSWORD_MIN_LENGTH = 12
    OWNER_LOGIN_LIMIT_PER_ACCOUNT = "5 per 15 minutes"
    OWNER_LOGIN_LIMIT_PER_IP = "20 per 15 minutes"
    OWNER_EXPORT_BATCH_SIZE = 1000

    # feedback ("Was this page helpful?"): rate limits per client IP, in Flask-Limiter's notation
    FEEDBACK_VOTE_RATE_LIMIT = "20 per minute"
    FEEDBACK_COMMENT_RATE_LIMIT = "5 per minute"

    # Newsletter (webapp/newsletter/). Mail goes by SMTP when MAIL_SERVER is set, else it is
    # written as .eml files to OUTBOX_DIR (instance/outbox/); MAIL_BACKEND overrides both.
    MAIL_DEFAULT_SENDER = "Steven Fitspot <newsletter@localhost>"
    MAIL_TIMEOUT = 10  # seconds; a reader waits on it, so never more
    NEWSLETTER_SUBJECT = "Please confirm your subscription to Steven Fitspot"
    NEWSLETTER_CONSENT_VERSION = "2024-06"  # change it with the wording in newsletter/_consent.html
    NEWSLETTER_CONFIRM_MAX_AGE = 7 * 24 * 3600  # seconds a confirmation link works
    NEWSLETTER_RESEND_AFTER = 10 * 60  # seconds before a pending address is sent another link
    NEWSLETTER_PENDING_DAYS = 30  # unconfirmed signups older than this are deleted by `newsletter prune`
    NEWSLETTER_IP_STORAGE = "truncated"  # "truncated" (/24 IPv4, /48 IPv6), "full" or "none"
    NEWSLETTER_CHECK_DELIVERABILITY = False  # True: a DNS look-up checks the domain takes mail
    NEWSLETTER_RATE_LIMIT_PER_IP = "10 per minute; 60 per hour"
    NEWSLETTER_RATE_LIMIT_PER_ADDRESS = "5 per hour"


def load_secret_key(instance_path: Path) -> str:
    """Return the secret key kept in `instance/secret_key`, creating it once with mode 0600."""
    path = instance_path / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def from_environment() -> dict:
    """Return the settings the environment sets, parsed."""
    values = {}
    for name, parse in ENV_SETTINGS.items():
        raw = os.environ.get(name)
        if raw not in (None, ""):
            try:
                values[name] = parse(raw)
            except ValueError as exc:
                raise RuntimeError(f"{name}={raw!r} is not valid: {exc}") from None
    return values
