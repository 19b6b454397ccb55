"""`python -m bench.export`: the subscriber export beside `sqlite3 -csv`, at 100,000 and 1,000,000 rows.

For each size, in a fresh SQLite file of generated subscribers, it times
- `sqlite3 -csv -header` dumping the same columns and rows (the baseline: C, no escaping, no signing),
- `flask --app webapp subscribers export --status all` (the CLI),
- `GET /owner/subscribers.csv?status=all` from gunicorn (one worker), logged in as an owner,
and prints wall time, rows per second and peak memory (the max RSS of the process doing the
work: sqlite3, the CLI, the gunicorn worker), with the ratio to sqlite3. The CLI and the web
download are checked to be the same bytes. Results go to bench/results-export.md.

    .venv/bin/python -m bench.export                      # 100,000 and 1,000,000
    BENCH_EXPORT_SIZES=20000 .venv/bin/python -m bench.export
"""

import datetime as dt
import hashlib
import http.cookiejar
import os
import platform
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.servers import BIN, ROOT, Server, migrate

SIZES = [int(n) for n in os.environ.get("BENCH_EXPORT_SIZES", "100000,1000000").split(",")]
RESULTS = ROOT / "bench" / "results-export.md"
SECRET_KEY = "bench-export-secret-key-0123456789abcdef0123456789"
OWNER, PASSWORD = "bench@example.com", "bench-password-long-enough"
COLUMNS = (
    "email, first_name, status, optin_time, optin_ip, confirm_time, confirm_ip, unsub_time, "
    "source, consent_version, link_key"
)
CHUNK = 1 << 20
# Where the time goes, measured in one process: reading the rows, and signing the unsubscribe links.
BREAKDOWN = """
import time
from webapp import create_app
from webapp.newsletter.links import UnsubscribeLinks
from webapp.owner.exports import ExportFilter, subscriber_rows
app = create_app()
with app.app_context():
    links, signing, started = UnsubscribeLinks(), 0.0, time.perf_counter()
    for row in subscriber_rows(ExportFilter("all")):
        before = time.perf_counter()
        links.url(row.link_key)
        signing += time.perf_counter() - before
    print(time.perf_counter() - started - signing, signing)
"""


@dataclass
class Run:
    name: str
    seconds: float
    rows: int
    peak_kb: int
    digest: str = ""

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def generate(path: Path, n: int) -> float:
    """Fill a migrated SQLite file with n subscribers; return the seconds it took."""
    started = time.perf_counter()
    migrate(f"sqlite:///{path}", path.parent)
    # No line breaks in names: rows are counted by lines.
    names = ["Ann", "Bo", 'Zoë "Z", Jr.', "=cmd|' /C calc'!A0", "李雷", "Ola Nordmann", None]
    base = dt.datetime(2024, 1, 1)

    def rows():
        for i in range(n):
            optin = base + dt.timedelta(seconds=i * 29, microseconds=i % 1000)
            status = ("subscribed", "subscribed", "pending", "unsubscribed")[i % 4]
            confirm = optin + dt.timedelta(minutes=3) if status != "pending" else None
            unsub = confirm + dt.timedelta(days=30) if status == "unsubscribed" else None
            stamp = optin.isoformat(sep=" ", timespec="microseconds")
            yield (
                f"Reader.{i}@Example.com",
                f"reader.{i}@example.com",
                f"bench{i:016d}",
                names[i % len(names)],
                status,
                "/articles/back-pain-relief-walking",
                "2026-01",
                stamp,
                "198.51.100.0",
                confirm and confirm.isoformat(sep=" ", timespec="microseconds"),
                "198.51.100.0" if confirm else None,
                unsub and unsub.isoformat(sep=" ", timespec="microseconds"),
                stamp,
                stamp,
            )

    connection = sqlite3.connect(path)
    connection.execute("PRAGMA synchronous=OFF")
    with connection:
        connection.executemany(
            "INSERT INTO subscribers (email, email_key, link_key, first_name, status, source, consent_version,"
            " optin_time, optin_ip, confirm_time, confirm_ip, unsub_time, mail_owed, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
            rows(),
        )
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return time.perf_counter() - started


def drain(stream, digest) -> tuple[int, int]:
    """Read a stream to its end; return (bytes, lines)."""
    size = lines = 0
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        lines += chunk.count(b"\n")
        digest.update(chunk)
    return size, lines


def run_child(name: str, command: list[str], env: dict, rows: int) -> Run:
    """Run a command whose standard output is the CSV; time it and take its max RSS."""
    digest = hashlib.sha256()
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    _, lines = drain(child.stdout, digest)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.stdout.close()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{name} exited with {child.returncode}")
    return Run(name, seconds, lines - 1, usage.ru_maxrss, digest.hexdigest())


def peak_kb(pid: int) -> int:
    """Return a live process's peak resident set size (VmHWM), in KB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))


def http_export(server: Server, rows: int) -> tuple[Run, int]:
    """Log in like a browser, then download the export; return the run and the worker's RSS before."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(server.url + "/owner/login") as response:
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', response.read().decode()).group(1)
    form = urllib.parse.urlencode({"email": OWNER, "password": PASSWORD, "csrf_token": token}).encode()
    with opener.open(server.url + "/owner/login", data=form) as response:
        assert response.url.endswith("/owner/"), response.url
    [worker] = server.worker_pids()
    before = peak_kb(worker)
    digest = hashlib.sha256()
    started = time.perf_counter()
    with opener.open(server.url + "/owner/subscribers.csv?status=all", timeout=600) as response:
        _, lines = drain(response, digest)
    seconds = time.perf_counter() - started
    return Run("web download (gunicorn, 1 worker)", seconds, lines - 1, peak_kb(worker), digest.hexdigest()), before


def measure(n: int, tmp: Path, breakdown: bool) -> dict:
    instance = tmp / "instance"
    instance.mkdir(parents=True)
    database = instance / "fitspot.sqlite3"
    print(f"\n== {n:,} subscribers", flush=True)
    print(f"generating … {generate(database, n):.1f} s", flush=True)

    server = Server(tmp, database_url=f"sqlite:///{database}", workers=1)
    site = f"http://127.0.0.1:{server.port}"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "FITSPOT_INSTANCE_PATH": str(instance),
        "SITE_URL": site,
        "SECRET_KEY": SECRET_KEY,
        # A sync worker that streams for longer than gunicorn's 30 s timeout is killed mid-download;
        # the benchmark measures the export, so it lifts the limit (see results-export.md).
        "GUNICORN_CMD_ARGS": "--timeout 900",
    }
    subprocess.run(
        [str(BIN / "flask"), "--app", "webapp", "owner", "create", OWNER],
        input=PASSWORD + "\n",
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )

    baseline = run_child(
        "sqlite3 -csv (baseline)",
        ["sqlite3", "-csv", "-header", str(database), f"SELECT {COLUMNS} FROM subscribers ORDER BY id"],
        env,
        n,
    )
    startup = run_child(
        "flask subscribers export, no rows",
        [str(BIN / "flask"), "--app", "webapp", "subscribers", "export", "--since", "2999-01-01"],
        env,
        n,
    )
    startup.rows = 0
    cli = run_child(
        "flask subscribers export",
        [str(BIN / "flask"), "--app", "webapp", "subscribers", "export", "--status", "all"],
        env,
        n,
    )
    server.env.update(env)
    server.start()
    try:
        web, worker_before = http_export(server, n)
    finally:
        server.stop()
    if cli.digest != web.digest:
        raise RuntimeError("the CLI and the web download differ")
    for run in (baseline, cli, web):
        if run.rows != n:
            raise RuntimeError(f"{run.name} wrote {run.rows} rows, not {n}")
    read = sign = None
    if breakdown:  # linear in the row count: measured at the first size only
        out = subprocess.run(
            [str(BIN / "python"), "-c", BREAKDOWN], env=env, cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout
        read, sign = (float(x) for x in out.split())
    runs = [baseline, cli, web]
    for run in runs:
        print(
            f"{run.name:36} {run.seconds:8.2f} s {run.rate:12,.0f} rows/s {run.peak_kb / 1024:8.1f} MB"
            f" {run.seconds / baseline.seconds:6.1f}× sqlite3",
            flush=True,
        )
    print(f"CLI start-up with no rows: {startup.seconds:.2f} s, {startup.peak_kb / 1024:.1f} MB", flush=True)
    print(f"gunicorn worker before the download: {worker_before / 1024:.1f} MB", flush=True)
    if breakdown:
        print(f"in one process: reading the rows {read:.2f} s, signing the unsubscribe links {sign:.2f} s", flush=True)
    return {"n": n, "runs": runs, "worker_before": worker_before, "startup": startup, "read": read, "sign": sign}


def write_results(results: list[dict], load_before: tuple) -> None:
    lines = [
        "# Subscriber export benchmark",
        "",
        f"`python -m bench.export`, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.platform()},",
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average at start "
        f"{load_before[0]:.2f} (the machine is shared: timings are noisy).",
        "",
        "All columns, all statuses (`--status all`), SQLite. Peak memory is the max RSS of the process that",
        "does the work; the gunicorn worker's includes the app it had already loaded.",
        "",
        "| rows | what | wall time | rows/s | peak memory | × sqlite3 |",
        "| ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for result in results:
        baseline = result["runs"][0]
        for run in result["runs"]:
            lines.append(
                f"| {result['n']:,} | {run.name} | {run.seconds:.2f} s | {run.rate:,.0f} | "
                f"{run.peak_kb / 1024:.1f} MB | {run.seconds / baseline.seconds:.1f} |"
            )
        lines.append(
            f"| {result['n']:,} | gunicorn worker before the download | | | {result['worker_before'] / 1024:.1f} MB | |"
        )
        startup = result["startup"]
        lines.append(
            f"| {result['n']:,} | CLI start-up alone (no rows) | {startup.seconds:.2f} s | | "
            f"{startup.peak_kb / 1024:.1f} MB | |"
        )
    lines += ["", "Where the export's time goes, in one process:", ""]
    for result in results[:1]:
        lines.append(
            f"- {result['n']:,} rows: reading them in batches {result['read']:.2f} s; signing the unsubscribe "
            f"links (the newsletter's itsdangerous serializer) {result['sign']:.2f} s."
        )
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    load_before = os.getloadavg()
    results = []
    for i, n in enumerate(SIZES):
        with tempfile.TemporaryDirectory(prefix="fitspot-bench-export-") as tmp:
            results.append(measure(n, Path(tmp), breakdown=i == 0))
    write_results(results, load_before)
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
