"""Fitspot: the web app behind the Steven Fitspot blog."""

import logging
import os
import sys
from pathlib import Path

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

from . import assets, checks, errors, idempotency, security  # noqa: F401  (idempotency: its table)
from .config import ROOT, Defaults, from_environment, load_secret_key
from .content import load_library
from .database import configure_sqlite, database_url
from .extensions import db, init_write_guards, login_manager, mail, migrate
from .pagecache import PageCacheMiddleware
from .sessions import SiteSessionInterface
from .urls import external_url

# Scripts every page loads, when the file exists (each feature ships its own module).
PAGE_SCRIPTS = ["js/forms.js", "js/feedback.js", "js/pwa.js"]


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application: defaults, then the environment, then `test_config`."""
    app = Flask(
        __name__,
        instance_path=(test_config or {}).get("INSTANCE_PATH")
        or os.environ.get("FITSPOT_INSTANCE_PATH")
        or str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        static_url_path="/static",
    )
    app.session_interface = SiteSessionInterface()
    app.config.from_object(Defaults)
    app.config.update(from_environment())
    if test_config:
        app.config.update(test_config)

    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_secret_key(instance)
    if str(app.config.get("SITE_URL", "")).startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url(app.config.get("DATABASE_URL", ""), instance)
    app.config.setdefault("OUTBOX_DIR", str(instance / "outbox"))
    configure_logging(app)
    if not app.config.get("TESTING"):
        checks.check_configuration(app)

    app.wsgi_app = ProxyFix(
        PageCacheMiddleware(app, app.wsgi_app),
        x_for=app.config["TRUSTED_PROXIES"],
        x_proto=app.config["TRUSTED_PROXIES"],
        x_host=app.config["TRUSTED_PROXIES"],
        x_port=app.config["TRUSTED_PROXIES"],
    )

    app.extensions["library"] = load_library(app.config["CONTENT_DIR"])

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    security.init_app(app)  # first: a cross-site POST is refused before anything else looks at it
    init_write_guards(app)
    login_manager.init_app(app, add_context_processor=False)  # public pages never touch the session
    # Flask-Login's "remember me" hook reads the session after every response, which marks public
    # pages `Vary: Cookie`; the owner area has no "remember me", so the hook has nothing to do.
    app.after_request_funcs[None].remove(login_manager._update_remember_cookie)
    if not app.config.get("MAIL_BACKEND"):  # SMTP when a server is named, else .eml files in OUTBOX_DIR
        app.config["MAIL_BACKEND"] = "smtp" if app.config.get("MAIL_SERVER") else "webapp.newsletter.mailer"
    mail.init_app(app)

    assets.init_app(app)
    errors.init_app(app)
    register_blueprints(app)
    register_template_globals(app)
    return app


def register_blueprints(app: Flask) -> None:
    """Register one blueprint per feature, with its command-line commands."""
    from . import articles, feedback, newsletter, owner, pwa

    for feature in (articles, feedback, newsletter, owner, pwa):
        app.register_blueprint(feature.bp)
        for command in getattr(feature, "commands", []):
            app.cli.add_command(command)


def register_template_globals(app: Flask) -> None:
    """Give every template the helpers and values it needs."""
    app.jinja_env.globals["external_url"] = external_url
    asset_index = app.extensions["assets"].hashed
    scripts = [name for name in PAGE_SCRIPTS if name in asset_index]

    @app.context_processor
    def page_context():
        base = (app.config.get("SITE_URL") or request.host_url).rstrip("/")
        return {
            "canonical_url": base + request.path,
            "endpoints": app.view_functions,
            "scripts": scripts,
        }


def configure_logging(app: Flask) -> None:
    """Log one line an event to standard output."""
    if not any(isinstance(h, logging.StreamHandler) for h in app.logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        app.logger.addHandler(handler)
    app.logger.setLevel(logging.INFO)
