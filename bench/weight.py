"""Page weight of a first visit to the article, and how long until it is saved offline."""

import gzip
import re
import time
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser

from tests.servers import CHROMIUM, CHROMIUM_ARGS

HTML_BUDGET = 14 * 1024  # the first TCP round trip
FIRST_VISIT_BUDGET = 60 * 1024


@dataclass
class Fetched:
    body: bytes  # decoded
    wire: int  # bytes on the wire (compressed when the server compressed)
    headers: dict


def fetch(url: str) -> Fetched:
    """GET `url` as a browser would, accepting gzip."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
        headers = dict(response.headers)
    body = gzip.decompress(raw) if headers.get("Content-Encoding") == "gzip" else raw
    return Fetched(body=body, wire=len(raw), headers=headers)


class Links(HTMLParser):
    """Collect the sub-resources a first visit loads."""

    def __init__(self):
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link" and a.get("rel") in ("stylesheet", "manifest", "icon", "apple-touch-icon"):
            if a.get("media") != "print":
                self.urls.append((a["rel"], a["href"]))
        elif tag == "script" and a.get("src"):
            self.urls.append(("script", a["src"]))
        elif tag == "img" and a.get("src"):
            self.urls.append(("img", a["src"]))


def find_asset(html: str, ext: str) -> str:
    """Return the first hashed static URL with this extension."""
    return re.search(rf'"(/static/[^"]+\.[0-9a-f]{{12}}{re.escape(ext)})"', html).group(1)


def report(base: str, slug: str) -> list[str]:
    """Return a Markdown table of the first visit's bytes, raw and compressed."""
    page = fetch(f"{base}/articles/{slug}")
    parser = Links()
    parser.feed(page.body.decode())
    rows = [("HTML (article)", len(page.body), page.wire)]
    for kind, url in parser.urls:
        item = fetch(base + url)
        rows.append(
            (
                f"{kind}: {url.rsplit('/', 1)[-1]}",
                len(item.body),
                len(gzip.compress(item.body, 9))
                if item.wire == len(item.body) and kind in ("stylesheet", "script", "manifest")
                else item.wire,
            )
        )
    total_raw = sum(r[1] for r in rows)
    total_wire = sum(r[2] for r in rows)
    lines = ["| resource | raw bytes | compressed bytes |", "| --- | ---: | ---: |"]
    lines += [f"| {name} | {raw:,} | {wire:,} |" for name, raw, wire in rows]
    lines.append(f"| **first visit** | {total_raw:,} | {total_wire:,} |")
    lines += [
        "",
        f"Budgets: HTML {page.wire:,} of {HTML_BUDGET:,} bytes compressed "
        f"({'within' if page.wire <= HTML_BUDGET else 'OVER'}); first visit {total_wire:,} of "
        f"{FIRST_VISIT_BUDGET:,} ({'within' if total_wire <= FIRST_VISIT_BUDGET else 'OVER'}).",
    ]
    return lines


def precache_time(base: str, slug: str) -> list[str]:
    """Time from the first navigation until the article is in the service worker's cache."""
    from playwright.sync_api import sync_playwright

    article = f"{base}/articles/{slug}"
    probe = """async (url) => {
        for (const name of await caches.keys()) {
            if (await (await caches.open(name)).match(url)) return true;
        }
        return false;
    }"""
    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for _ in range(3):
                context = browser.new_context(viewport={"width": 360, "height": 740})
                page = context.new_page()
                start = time.perf_counter()
                page.goto(article)
                while not page.evaluate(probe, article):
                    if time.perf_counter() - start > 30:
                        raise RuntimeError("the article was not precached within 30 s")
                    page.wait_for_timeout(20)
                times.append((time.perf_counter() - start) * 1000)
                context.close()
        finally:
            browser.close()
    times.sort()
    return [
        f'First navigation to "article precached" in Chromium: median {times[1]:.0f} ms '
        f"(runs: {', '.join(f'{t:.0f}' for t in times)} ms)."
    ]
