"""Start-up self-check: refuse a production configuration that would fail quietly.

Like Django's `check --deploy`, the strict rules apply to a deployment, which we recognise
by an HTTPS `SITE_URL`; on a laptop (`make run`) the same findings are logged as warnings.
"""

from urllib.parse import urlsplit

from flask import Flask

MIN_SECRET_KEY_LENGTH = 32
KNOWN_BAD_KEYS = {"dev", "secret", "changeme", "change-me", "default", "test", "development"}


class ConfigError(RuntimeError):
    """The configuration is unsafe for production; the message says what to set."""


def deployment_problems(config) -> list[str]:
    """Return what is wrong with this configuration for serving real readers."""
    problems = []
    key = str(config.get("SECRET_KEY") or "")
    if len(key) < MIN_SECRET_KEY_LENGTH or key.lower() in KNOWN_BAD_KEYS:
        problems.append(
            f"SECRET_KEY is missing, a default or shorter than {MIN_SECRET_KEY_LENGTH} characters: set it to "
            "the output of `python -c 'import secrets; print(secrets.token_hex(32))'`, the same on every host."
        )
    storage = str(config.get("RATELIMIT_STORAGE_URI") or "memory://")
    workers = int(config.get("WEB_CONCURRENCY") or 1)
    shared_database = not str(config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("sqlite")
    if storage.startswith("memory://") and (workers > 1 or shared_database):
        where = f"WEB_CONCURRENCY={workers} workers" if workers > 1 else "a shared database (several hosts)"
        problems.append(
            f"RATELIMIT_STORAGE_URI is memory:// with {where}: each process counts on its own, so the "
            "limits do not hold. Set RATELIMIT_STORAGE_URI=redis://HOST:6379 (shared by every worker and host)."
        )
    if not config.get("MAIL_SERVER") and config.get("MAIL_BACKEND") in (None, "", "webapp.newsletter.mailer"):
        problems.append(
            "MAIL_SERVER is not set: confirmation mail is written to instance/outbox/ and no reader gets it. "
            "Set MAIL_SERVER (and MAIL_PORT, MAIL_USE_TLS, MAIL_USERNAME, MAIL_PASSWORD) to your SMTP relay."
        )
    return problems


def is_deployment(config) -> bool:
    """Tell whether this configuration serves the public (an HTTPS site URL)."""
    return urlsplit(str(config.get("SITE_URL") or "")).scheme == "https"


def check_configuration(app: Flask) -> None:
    """Raise ConfigError for an unsafe deployment; log the same findings in development."""
    problems = deployment_problems(app.config)
    if not problems:
        return
    if is_deployment(app.config) and not app.config.get("SKIP_DEPLOY_CHECKS"):
        raise ConfigError("Refusing to start:\n- " + "\n- ".join(problems))
    for problem in problems:
        app.logger.warning("fine for development, not for production: %s", problem)
