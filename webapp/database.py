"""Database URL selection and the SQLite connection settings."""

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine


def database_url(configured: str, instance_path: Path) -> str:
    """Return the SQLAlchemy URL: the configured one, or SQLite in the instance folder."""
    if not configured:
        return f"sqlite:///{instance_path / 'fitspot.sqlite3'}"
    if configured.startswith("postgres://"):  # the form some hosts hand out
        configured = "postgresql://" + configured.removeprefix("postgres://")
    if configured.startswith("postgresql://"):  # psycopg 3 is the driver we ship
        configured = "postgresql+psycopg://" + configured.removeprefix("postgresql://")
    return configured


def configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """Put every SQLite connection in WAL mode with a busy timeout and foreign keys on.

    Transactions start with BEGIN IMMEDIATE: a deferred transaction that reads and then
    writes fails at once with "database is locked" when another writer got there first,
    whatever the busy timeout; an immediate one waits its turn instead.
    """

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable in WAL mode across app crashes
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
