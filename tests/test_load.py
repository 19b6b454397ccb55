"""Load and fault tests: many readers, voters and subscribers at once, workers killed, the
server crashed and restarted — and every acknowledged write is still in the exports.

`make test` runs a short version (LOAD_SECONDS, default 4 s a phase); `make bench` a longer one.
"""

import csv
import io
import os
import random
import signal
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from tests.servers import PostgresDatabase, Server

pytestmark = pytest.mark.slow

SLUG = "back-pain-relief-walking"
SECONDS = float(os.environ.get("LOAD_SECONDS", "4"))
CLIENTS = int(os.environ.get("LOAD_CLIENTS", "12"))
# One client machine sends everything, so per-IP limits would stop the test, not a flood.
ENV = {"RATELIMIT_ENABLED": "false"}


@dataclass
class Tally:
    """What the clients saw."""

    votes_acked: int = 0
    emails_acked: set = field(default_factory=set)
    reads_ok: int = 0
    unanswered: int = 0  # connection refused/reset: never acknowledged, may or may not be stored
    server_errors: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def post(url: str, data: dict) -> int:
    body = urllib.parse.urlencode(data).encode()
    request = urllib.request.Request(
        url,
        data=body,
        headers={
            "Accept": "application/json",
            "Sec-Fetch-Site": "same-origin",
            "Idempotency-Key": f"load-{uuid.uuid4().hex}",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        return response.status


def get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
        return response.status


def client(base: str, deadline: float, tally: Tally, seed: int) -> None:
    """Read articles, vote and sign up until the deadline, counting what was acknowledged."""
    rng = random.Random(seed)
    while time.monotonic() < deadline:
        action = rng.choice(["read", "read", "vote", "signup"])
        email = f"load-{uuid.uuid4().hex[:12]}@example.com"
        try:
            if action == "read":
                status = get(f"{base}/articles/{SLUG}")
            elif action == "vote":
                status = post(
                    f"{base}/articles/{SLUG}/feedback", {"vote": rng.choice(["yes", "no"]), "vote_id": uuid.uuid4().hex}
                )
            else:
                status = post(
                    f"{base}/newsletter", {"email": email, "first_name": "Load", "source": f"/articles/{SLUG}"}
                )
        except urllib.error.HTTPError as exc:
            with tally.lock:
                if exc.code >= 500:
                    tally.server_errors.append((action, exc.code))
                else:
                    tally.server_errors.append((action, exc.code, "unexpected client error"))
            continue
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            with tally.lock:
                tally.unanswered += 1
            time.sleep(0.05)
            continue
        with tally.lock:
            if action == "read":
                tally.reads_ok += status == 200
            elif action == "vote":
                tally.votes_acked += 1
            else:
                tally.emails_acked.add(email)


def run_load(base: str, seconds: float, tally: Tally, during=None) -> None:
    """Run the clients for `seconds`; call `during()` half-way through."""
    deadline = time.monotonic() + seconds
    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(client, base, deadline, tally, n) for n in range(CLIENTS)]
        if during:
            time.sleep(seconds / 2)
            during()
        for f in futures:
            f.result()


def export(server: Server, *args: str) -> list[dict]:
    """Run an export command against the server's database, as the owner would."""
    return list(csv.DictReader(io.StringIO(server.flask(*args))))


def report(server: Server, tally: Tally, votes: int, stored: int) -> None:
    """Append a line of figures to LOAD_REPORT, when `make bench` asks for one."""
    path = os.environ.get("LOAD_REPORT")
    if path:
        test = os.environ.get("PYTEST_CURRENT_TEST", "").split("::")[-1].split(" ")[0]
        backend = "PostgreSQL" if server.database_url.startswith("postgresql") else "SQLite"
        with open(path, "a") as fh:
            fh.write(
                f"| {test} | {backend} | {tally.reads_ok} | {tally.votes_acked} / {votes} | "
                f"{len(tally.emails_acked)} / {stored} | {tally.unanswered} | {len(tally.server_errors)} |\n"
            )


def assert_nothing_lost(server: Server, tally: Tally, attempts_unanswered: int) -> None:
    assert tally.server_errors == []
    assert tally.reads_ok > 0 and tally.votes_acked > 0 and tally.emails_acked
    votes = export(server, "feedback", "export")
    # every acknowledged vote is there; a vote whose answer was lost to a kill may be there too
    assert tally.votes_acked <= len(votes) <= tally.votes_acked + attempts_unanswered
    stored = {row["Email Address"] for row in export(server, "subscribers", "export", "--status", "all")}
    assert tally.emails_acked <= stored
    assert len(stored) <= len(tally.emails_acked) + attempts_unanswered
    report(server, tally, len(votes), len(stored))
    log = server.log.read_text()
    assert "database is locked" not in log
    assert "Traceback" not in log


@pytest.fixture(params=["sqlite", "postgresql"])
def load_database(request, tmp_path):
    """A fresh, migrated database for one load test (None: the server's own SQLite file)."""
    if request.param == "sqlite":
        yield None
        return
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    pg = PostgresDatabase(server_url)
    from tests.servers import migrate

    migrate(pg.url, tmp_path)
    yield pg.url
    pg.drop()


def test_concurrent_load_loses_nothing(server_factory, load_database):
    server = server_factory(database_url=load_database, workers=2, env=ENV)
    tally = Tally()
    run_load(server.url, SECONDS, tally)
    assert tally.unanswered == 0
    assert_nothing_lost(server, tally, 0)


def test_a_killed_worker_loses_no_acknowledged_write(server_factory, load_database):
    server = server_factory(database_url=load_database, workers=2, env=ENV)
    tally = Tally()
    killed = []

    def kill_a_worker():
        pid = server.worker_pids()[0]
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    run_load(server.url, SECONDS * 2, tally, during=kill_a_worker)
    assert killed
    # the master replaced the worker by itself, and the site answers
    deadline = time.monotonic() + 15
    while len(server.worker_pids()) < 2 or killed[0] in server.worker_pids():
        assert time.monotonic() < deadline, "gunicorn did not replace the killed worker"
        time.sleep(0.1)
    assert get(f"{server.url}/healthz") == 200
    assert_nothing_lost(server, tally, tally.unanswered + CLIENTS)


def test_a_crashed_and_restarted_server_loses_no_acknowledged_write(server_factory, load_database):
    server = server_factory(database_url=load_database, workers=2, env=ENV)
    tally = Tally()

    def crash_and_restart():
        # everything dies at once, as on a power cut of the process tree
        workers = server.worker_pids()
        for pid in [server.process.pid, *workers]:
            os.kill(pid, signal.SIGKILL)
        server.process.wait()
        server.process = None
        server.start()

    run_load(server.url, SECONDS * 2, tally, during=crash_and_restart)
    assert get(f"{server.url}/healthz") == 200
    assert_nothing_lost(server, tally, tally.unanswered + CLIENTS)
