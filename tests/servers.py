"""Real servers for tests: gunicorn on a free loopback port, and a migrated database."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Debian's Chromium, started as this machine allows (root, no GPU, no network beyond loopback).
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def migrate(database_url: str, instance: Path) -> None:
    """Create the schema with the migrations, as `make run` does."""
    env = {**os.environ, "DATABASE_URL": database_url, "FITSPOT_INSTANCE_PATH": str(instance)}
    subprocess.run(
        [str(BIN / "flask"), "--app", "webapp", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


class PostgresDatabase:
    """A throw-away database on the PostgreSQL server named by a URL."""

    def __init__(self, server_url: str):
        import sqlalchemy as sa

        self.name = f"fitspot_test_{uuid.uuid4().hex[:10]}"
        self.admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{self.name}"')
        self.url = sa.engine.make_url(server_url).set(database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.admin.dispose()


class Server:
    """gunicorn serving the app, with the production config file."""

    def __init__(
        self,
        tmp: Path,
        database_url: str | None = None,
        workers: int = 2,
        env: dict | None = None,
        app_module: str = "wsgi:app",
        health_path: str = "/healthz",
    ):
        self.app_module = app_module
        self.health_path = health_path
        self.tmp = Path(tmp)
        self.instance = self.tmp / "instance"
        self.instance.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url or f"sqlite:///{self.instance / 'fitspot.sqlite3'}"
        self.env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "FITSPOT_INSTANCE_PATH": str(self.instance),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(workers),
            **(env or {}),
        }
        self.process: subprocess.Popen | None = None
        self.log = self.tmp / f"gunicorn-{self.port}.log"

    def start(self, timeout: float = 30) -> "Server":
        needs_schema = self.app_module == "wsgi:app" and self.database_url.startswith("sqlite")
        if needs_schema and not (self.instance / "fitspot.sqlite3").exists():
            migrate(self.database_url, self.instance)
        with self.log.open("ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", self.app_module],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + self.health_path, timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer in {timeout}s: {self.log.read_text()[-3000:]}")

    def flask(self, *args: str, input: str | None = None) -> str:
        """Run `flask --app webapp ARGS` against this server's database, as its operator would."""
        result = subprocess.run(
            [str(BIN / "flask"), "--app", "webapp", *args],
            cwd=ROOT,
            env=self.env,
            input=input,
            text=True,
            check=True,
            capture_output=True,
        )
        return result.stdout

    def worker_pids(self) -> list[int]:
        """Return the pids of the master's worker processes."""
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


def copy_database(template: Path, target: Path) -> None:
    """Copy a migrated SQLite file (no WAL pending: the template is closed)."""
    shutil.copyfile(template, target)
