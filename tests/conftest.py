"""Fixtures: the app on SQLite (and PostgreSQL when TEST_DATABASE_URL is set), clients,
a real SMTP server, gunicorn on a free port, and Chromium."""

import os
from pathlib import Path

import pytest

from tests.servers import CHROMIUM, CHROMIUM_ARGS, PostgresDatabase, Server, copy_database, migrate
from webapp import create_app
from webapp.extensions import db

DATA = Path(__file__).parent / "data"
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request, tmp_path_factory):
    """A migrated database on each backend: (name, url, template-or-None, pg-or-None)."""
    if request.param == "sqlite":
        folder = tmp_path_factory.mktemp("sqlite-template")
        template = folder / "fitspot.sqlite3"
        migrate(f"sqlite:///{template}", folder)
        yield {"name": "sqlite", "template": template}
    else:
        server_url = os.environ.get("TEST_DATABASE_URL")
        if not server_url:
            pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
        pg = PostgresDatabase(server_url)
        migrate(pg.url, tmp_path_factory.mktemp("pg-instance"))
        yield {"name": "postgresql", "url": pg.url}
        pg.drop()


def make_config(tmp_path: Path, database_url: str, **extra) -> dict:
    """Return the mapping every test app starts from."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SITE_URL": "http://localhost",
        "RATELIMIT_STORAGE_URI": "memory://",
        **extra,
    }


@pytest.fixture
def database_url(backend, tmp_path):
    """A fresh, migrated database for one test."""
    if backend["name"] == "sqlite":
        target = tmp_path / "test.sqlite3"
        copy_database(backend["template"], target)
        yield f"sqlite:///{target}"
    else:
        yield backend["url"]


@pytest.fixture
def app_config():
    """Per-test additions to the app's config; override in a module to change it."""
    return {}


@pytest.fixture
def app(database_url, tmp_path, app_config):
    """The application, on a fresh database."""
    application = create_app(make_config(tmp_path, database_url, **app_config))
    yield application
    with application.app_context():
        db.session.remove()
        if db.engine.dialect.name == "postgresql":
            tables = ", ".join(t.name for t in db.metadata.sorted_tables)
            with db.engine.begin() as conn:
                conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def seed_text() -> str:
    """The first article exactly as the blog published it."""
    return (DATA / "seed_article.txt").read_text(encoding="utf-8")


# --- real servers ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """gunicorn with two workers on SQLite, for browser tests in one module."""
    server = Server(tmp_path_factory.mktemp("live")).start()
    yield server
    server.stop()


@pytest.fixture
def server_factory(tmp_path):
    """Start gunicorn servers with custom settings; all are stopped after the test."""
    started: list[Server] = []

    def start(**kwargs) -> Server:
        server = Server(tmp_path / f"server{len(started)}", **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free port; `.messages` holds what it received."""
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller

    from tests.servers import free_port

    class Collector:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            return "250 OK"

    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    controller.messages = handler.messages
    yield controller
    controller.stop()


# --- Chromium through pytest-playwright --------------------------------------------------


@pytest.fixture(scope="session")
def base_url():
    """No base URL: tests use live_server.url. (Overrides pytest-playwright's, which pytest 9 warns about.)"""
    return None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        pytest.exit(f"Chromium is not at {CHROMIUM}: run `make test`, which installs it, or set CHROMIUM")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 360, "height": 740}}


@pytest.fixture
def no_js_page(browser, browser_context_args):
    """A phone-sized page with JavaScript off: what every feature must still work in."""
    context = browser.new_context(**browser_context_args, java_script_enabled=False)
    yield context.new_page()
    context.close()
