"""Lighthouse (npm lighthouse@12.2.3, mobile) against Debian's Chromium."""

import json
import os
import subprocess
from pathlib import Path

VERSION = "12.2.3"
TOOLS = Path(__file__).resolve().parent / ".tools"
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
FLAGS = " ".join(
    [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
)


def binary() -> Path:
    """Install Lighthouse into bench/.tools once, and return its command."""
    cli = TOOLS / "node_modules" / ".bin" / "lighthouse"
    installed = TOOLS / "node_modules" / "lighthouse" / "package.json"
    if not installed.exists() or json.loads(installed.read_text())["version"] != VERSION:
        TOOLS.mkdir(exist_ok=True)
        subprocess.run(
            ["npm", "install", "--prefix", str(TOOLS), "--no-audit", "--no-fund", f"lighthouse@{VERSION}"],
            check=True,
            capture_output=True,
        )
    return cli


def scores(url: str, out: Path) -> dict[str, int]:
    """Run Lighthouse on `url` and return the four category scores out of 100."""
    env = {**os.environ, "CHROME_PATH": "/usr/bin/chromium"}
    subprocess.run(
        [
            str(binary()),
            url,
            "--quiet",
            "--output=json",
            f"--output-path={out}",
            f"--chrome-flags={FLAGS}",
            "--form-factor=mobile",
            f"--only-categories={','.join(CATEGORIES)}",
        ],
        check=True,
        env=env,
        capture_output=True,
        timeout=300,
    )
    report = json.loads(out.read_text())
    return {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES}


def report(base: str, slug: str, tmp: Path) -> list[str]:
    """Return a Markdown table of Lighthouse scores for the home page and the article."""
    lines = ["| page | Performance | Accessibility | Best Practices | SEO |", "| --- | ---: | ---: | ---: | ---: |"]
    for name, path in (("home", "/"), ("article", f"/articles/{slug}")):
        try:
            s = scores(base + path, tmp / f"lighthouse-{name}.json")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            stderr = getattr(exc, "stderr", b"") or b""
            lines.append(f"| {name} | failed: {stderr.decode(errors='replace')[-200:]!r} | | | |")
            continue
        lines.append(f"| {name} | {s['performance']} | {s['accessibility']} | {s['best-practices']} | {s['seo']} |")
    return lines
