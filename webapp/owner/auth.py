"""Who is logged in to /owner/: Flask-Login set-up, cookie flags, timeouts, rate limits.

The session cookie is Flask's signed cookie. It holds the owner's id *and* their session
version (`Owner.get_id`), so logging out, which bumps the version, kills every copy of
the cookie. It is a browser-session cookie (gone when the browser closes), re-signed on
every owner request, and refused by the server after `PERMANENT_SESSION_LIFETIME` idle
(Flask checks the signature's age) or `OWNER_SESSION_MAX_AGE` after login.
"""

import time
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, request, session, url_for
from flask_limiter import RequestLimit
from flask_login import current_user, logout_user

from ..errors import wants_json
from ..extensions import db, login_manager
from .models import Owner

LOGIN_AT = "owner_login_at"


login_manager.login_view = "owner.login"
login_manager.session_protection = "strong"  # another IP or browser: the session is dropped


@login_manager.user_loader
def load_owner(user_id: str) -> Owner | None:
    """Return the owner a session cookie names, if its session version is still current."""
    owner_id, _, version = user_id.partition(":")
    if not (owner_id.isdigit() and version.isdigit()):
        return None
    owner = db.session.get(Owner, int(owner_id))
    if owner is None or owner.session_version != int(version):
        return None
    return owner


@login_manager.unauthorized_handler
def answer_unauthorized():
    """Send a browser to the login page; answer 401 to a CSV or JSON client."""
    if request.path.endswith((".csv", ".json")) or wants_json():
        abort(401, description="Log in at /owner/login first.")
    return redirect(url_for("owner.login", next=request.full_path.rstrip("?")))


def require_owner():
    """Let only a logged-in owner through, and keep their session alive while they work."""
    if request.endpoint == "owner.login":
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    logged_in_at = session.get(LOGIN_AT, 0)
    if time.time() - logged_in_at > current_app.config["OWNER_SESSION_MAX_AGE"].total_seconds():
        end_session()
        return login_manager.unauthorized()
    session.modified = True  # re-signed now: the idle timeout counts from this request
    return None


def start_session() -> None:
    """Mark the time of login in the fresh session."""
    session[LOGIN_AT] = int(time.time())


def end_session() -> None:
    """Forget who is logged in, in this cookie."""
    logout_user()
    session.clear()


def safe_next(target: str | None) -> str:
    """Return where to go after login: a path in the owner area, never another site."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/owner/") and "\\" not in target:
            return target
    return url_for("owner.dashboard")


# --- rate limits on failed logins (Flask-Limiter), per account and per IP -----------------


def login_email_key() -> str:
    """Key the per-account limit on the email typed, as it would be looked up."""
    return "owner-login:" + (request.form.get("email") or "").strip().lower()


def login_failed(_response) -> bool:
    """Count only failed attempts against the limits."""
    return bool(g.get("owner_login_failed"))


def log_breach(limit: RequestLimit) -> None:
    """Log each refused login attempt: someone may be guessing passwords."""
    current_app.logger.warning(
        "owner login rate limit reached (%s) from %s for %r",
        limit.limit,
        request.remote_addr,
        (request.form.get("email") or "")[:254],
    )


def account_limit() -> str:
    return current_app.config["OWNER_LOGIN_LIMIT_PER_ACCOUNT"]


def ip_limit() -> str:
    return current_app.config["OWNER_LOGIN_LIMIT_PER_IP"]
