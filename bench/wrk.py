"""Run wrk and read its report."""

import re
import subprocess
from dataclasses import dataclass

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass
class WrkResult:
    rps: float
    p50: float  # milliseconds
    p99: float
    requests: int
    errors: int  # non-2xx/3xx responses plus socket errors


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * UNITS[unit]


def parse(output: str) -> WrkResult:
    """Read requests/s, latency percentiles and errors from wrk's --latency report."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    errors = 0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        errors += sum(int(g) for g in m.groups())
    return WrkResult(rps=rps, p50=p50, p99=p99, requests=requests, errors=errors)


def run_wrk(
    url: str,
    duration: int,
    connections: int,
    threads: int = 2,
    headers: list[str] | None = None,
    script: str | None = None,
    args: list[str] | None = None,
) -> WrkResult:
    """Drive `url` with wrk for `duration` seconds and return what it measured."""
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s"]
    for header in headers or []:
        cmd += ["-H", header]
    if script:
        cmd += ["-s", script]
    cmd.append(url)
    if args:
        cmd += ["--", *args]
    output = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=duration + 60).stdout
    return parse(output)
