"""`make bench`: throughput against a bare Flask app, page weight, precache time, Lighthouse.

Everything runs on loopback in one go, so the ratios compare like with like on a noisy machine.
Results are printed as a table and written to bench/results.md.
"""

import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import lighthouse, weight
from bench.wrk import WrkResult, run_wrk
from tests.servers import Server

ROOT = Path(__file__).resolve().parent.parent
SLUG = "back-pain-relief-walking"
DURATION = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
LUA_POST = str(ROOT / "bench/lua/post.lua")
CLIENTS_NOTE = (
    "12 client threads read, vote and sign up against gunicorn (2 workers) for "
    f"{os.environ.get('BENCH_LOAD_SECONDS', '20')} s a phase; one test kills a worker with SIGKILL half-way, "
    "another kills the whole server and starts it again; then every acknowledged write must be in the exports."
)

# Production settings, less rate limiting: the benchmark is one client hammering the server.
APP_ENV = {"RATELIMIT_ENABLED": "false", "SITE_URL": "", "WEB_CONCURRENCY": str(WORKERS)}


def scenarios(url: str, css: str, etag: str) -> list[tuple[str, dict]]:
    """Return (name, wrk arguments) for every measured request."""
    gzip = ["Accept-Encoding: gzip"]
    return [
        ("article page", {"url": f"{url}/articles/{SLUG}", "headers": gzip}),
        ("article page, 304", {"url": f"{url}/articles/{SLUG}", "headers": [*gzip, f"If-None-Match: {etag}"]}),
        ("/sw.js", {"url": f"{url}/sw.js", "headers": gzip}),
        ("hashed CSS", {"url": url + css, "headers": gzip}),
        (
            "feedback vote POST",
            {"url": f"{url}/articles/{SLUG}/feedback", "script": LUA_POST, "args": ["vote=yes&vote_id=v{n}"]},
        ),
        (
            "newsletter signup POST",
            {
                "url": f"{url}/newsletter",
                "script": LUA_POST,
                "args": [f"email=reader{{n}}%40example.com&first_name=Bench&source=%2Farticles%2F{SLUG}"],
            },
        ),
    ]


def throughput(tmp: Path) -> tuple[WrkResult, list[tuple[str, WrkResult]]]:
    """Measure the bare app, then every scenario, under the same gunicorn settings."""
    bare = Server(tmp / "bare", workers=WORKERS, app_module="bench.bare:app", health_path="/", env=APP_ENV)
    bare.start()
    try:
        run_wrk(bare.url + "/", 2, CONNECTIONS)  # warm up
        bare_result = run_wrk(bare.url + "/", DURATION, CONNECTIONS)
    finally:
        bare.stop()

    server = Server(tmp / "app", workers=WORKERS, env=APP_ENV)
    server.start()
    results = []
    try:
        page = weight.fetch(server.url + f"/articles/{SLUG}")
        css = weight.find_asset(page.body.decode(), ".css")
        for name, args in scenarios(server.url, css, page.headers["ETag"]):
            run_wrk(duration=2, connections=CONNECTIONS, **args)  # warm every worker's page cache
            results.append((name, run_wrk(duration=DURATION, connections=CONNECTIONS, **args)))
    finally:
        server.stop()
    return bare_result, results


def throughput_table(bare: WrkResult, results: list[tuple[str, WrkResult]]) -> list[str]:
    lines = [
        "| request | req/s | × bare Flask | p50 ms | p99 ms | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        f"| bare Flask, fixed string | {bare.rps:,.0f} | 1.00 | {bare.p50:.2f} | {bare.p99:.2f} | {bare.errors} |",
    ]
    for name, r in results:
        lines.append(f"| {name} | {r.rps:,.0f} | {r.rps / bare.rps:.2f} | {r.p50:.2f} | {r.p99:.2f} | {r.errors} |")
    return lines


def load_tests() -> list[str]:
    """Run the load and fault tests for longer than `make test` does, and table their figures."""
    with tempfile.NamedTemporaryFile("r", suffix=".md") as out:
        env = {**os.environ, "LOAD_SECONDS": os.environ.get("BENCH_LOAD_SECONDS", "20"), "LOAD_REPORT": out.name}
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_load.py"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        rows = out.read().splitlines()
    verdict = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-300:]
    return [
        f"{CLIENTS_NOTE} Verdict: `{verdict}`.",
        "",
        "| test | database | reads OK | votes acknowledged / exported | signups acknowledged / exported |"
        " no answer (killed) | 5xx |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
        *rows,
    ]


def main() -> int:
    started = dt.datetime.now(dt.UTC)
    sections = [
        "# Benchmark results",
        "",
        f"{started:%Y-%m-%d %H:%M} UTC · {os.cpu_count()} CPUs · {platform.processor() or platform.machine()} · "
        f"Python {platform.python_version()} · gunicorn {WORKERS} sync workers · wrk {CONNECTIONS} connections, "
        f"{DURATION} s a run · SQLite (WAL)",
        "",
    ]
    with tempfile.TemporaryDirectory(prefix="fitspot-bench-") as tmp:
        tmp = Path(tmp)
        print("throughput (wrk)…", flush=True)
        bare, results = throughput(tmp)
        sections += ["## Throughput", "", *throughput_table(bare, results), ""]
        sections += [
            "Targets: article page ≥ 0.80× bare Flask, POSTs ≥ 0.30×, p99 < 50 ms, no errors.",
            "",
        ]

        print("page weight and precache time…", flush=True)
        server = Server(tmp / "weight", workers=WORKERS, env=APP_ENV).start()
        try:
            sections += ["## Page weight (first visit to the article)", "", *weight.report(server.url, SLUG), ""]
            sections += ["## Offline", "", *weight.precache_time(server.url, SLUG), ""]
            print("lighthouse…", flush=True)
            sections += ["## Lighthouse (mobile)", "", *lighthouse.report(server.url, SLUG, tmp), ""]
        finally:
            server.stop()

    print("load and fault tests (longer run)…", flush=True)
    sections += ["## Load and fault tests", "", *load_tests(), ""]

    text = "\n".join(sections) + "\n"
    (ROOT / "bench/results.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: `make bench` installs it (Debian: apt-get install wrk)")
    sys.exit(main())
