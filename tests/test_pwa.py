"""The PWA's server side: manifest, icons, the generated service worker, the offline page."""

import hashlib
import json
import re
import shutil
import struct
import zlib
from pathlib import Path

import pytest

from webapp import create_app
from webapp.pwa.icons import write_icons

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = "/articles/back-pain-relief-walking"


def png_size(data: bytes) -> tuple[int, int]:
    """Return (width, height) from a PNG's IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def png_pixels(data: bytes) -> tuple[int, list[bytes]]:
    """Decode an 8-bit RGBA PNG whose rows use filter 0 (how webapp/pwa/icons.py writes them)."""
    width, height = png_size(data)
    idat, pos = b"", 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag = data[pos + 4 : pos + 8]
        if tag == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = 1 + width * 4
    rows = [raw[i * stride : (i + 1) * stride] for i in range(height)]
    assert all(row[0] == 0 for row in rows)
    return width, [row[1:] for row in rows]


def get(client, url):
    with client.get(url) as response:
        response.body = response.get_data()
        return response


def worker_manifest(js: str) -> tuple[str, list[dict], int]:
    """Read the version, precache entries and network timeout out of the generated /sw.js."""
    version = json.loads(re.search(r"^const VERSION = (.+);$", js, re.M).group(1))
    entries = json.loads(re.search(r"^const PRECACHE_ENTRIES = (.+);$", js, re.M).group(1))
    timeout = json.loads(re.search(r"^const NETWORK_TIMEOUT_MS = (.+);$", js, re.M).group(1))
    return version, entries, timeout


def test_manifest_describes_an_installable_app(client):
    response = get(client, "/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = json.loads(response.body)
    assert manifest["id"] == "/"
    assert manifest["name"] == "Steven Fitspot"
    assert manifest["short_name"] == "Fitspot"
    assert manifest["description"].startswith("Dedicated to Helping You")
    assert manifest["start_url"] == "/"
    assert manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["background_color"])
    icons = {(i["sizes"], i["purpose"], i["type"]): i["src"] for i in manifest["icons"]}
    assert set(icons) == {
        ("192x192", "any", "image/png"),
        ("512x512", "any", "image/png"),
        ("512x512", "maskable", "image/png"),
        ("any", "any", "image/svg+xml"),
    }
    for (sizes, _purpose, kind), src in icons.items():
        icon = get(client, src)
        assert icon.status_code == 200, src
        assert icon.mimetype == kind
        assert "immutable" in icon.headers["Cache-Control"]  # content-hashed URL
        if kind == "image/png":
            width, height = png_size(icon.body)
            assert f"{width}x{height}" == sizes
        else:
            assert icon.body.startswith(b"<svg") and b'viewBox="0 0 100 100"' in icon.body


def test_maskable_icon_keeps_its_artwork_in_the_safe_zone(client):
    manifest = json.loads(get(client, "/manifest.webmanifest").body)
    src = next(i["src"] for i in manifest["icons"] if i["purpose"] == "maskable")
    size, rows = png_pixels(get(client, src).body)
    background = rows[0][:4]
    assert background[3] == 255  # full bleed, no transparent corners
    centre, safe = size / 2, size * 0.4
    outside = inside_art = 0
    for y, row in enumerate(rows):
        for x in range(size):
            pixel = row[x * 4 : x * 4 + 4]
            if (x + 0.5 - centre) ** 2 + (y + 0.5 - centre) ** 2 > safe**2:
                outside += pixel != background
            else:
                inside_art += pixel != background
    assert outside == 0
    assert inside_art > size * size * 0.03  # and there is a drawing inside it


def test_apple_touch_icon_and_favicon(client):
    page = get(client, "/").body.decode()
    href = re.search(r'<link rel="apple-touch-icon" href="([^"]+)"', page).group(1)
    assert png_size(get(client, href).body) == (180, 180)
    favicon = get(client, "/favicon.ico")
    assert favicon.status_code == 200
    assert favicon.body[:4] == b"\x00\x00\x01\x00"  # ICO header
    assert png_size(favicon.body[22:]) == (32, 32)


def test_committed_icons_are_what_the_script_draws(tmp_path):
    for path in write_icons(tmp_path):
        assert path.read_bytes() == (ROOT / "static" / "img" / path.name).read_bytes(), path.name


@pytest.mark.parametrize("path", ["/", ARTICLE, "/offline"])
def test_every_page_links_the_manifest_icons_and_theme_colours(client, path):
    page = get(client, path).body.decode()
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    assert re.search(r'<link rel="icon" href="/static/img/icon\.[0-9a-f]{12}\.svg" type="image/svg\+xml">', page)
    assert 'name="theme-color" content="#0b6e4f" media="(prefers-color-scheme: light)"' in page
    assert 'media="(prefers-color-scheme: dark)"' in page
    assert "data-pwa-status" in page
    assert re.search(r'<script type="module" src="/static/js/pwa\.[0-9a-f]{12}\.js">', page)
    # CSP: no inline script (JSON-LD is data) and no style attributes
    inline = [s for s in re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page) if "application/ld+json" not in s]
    assert inline == []
    assert " style=" not in page


def test_walk_tools_are_hidden_until_javascript_finds_support(client):
    page = get(client, ARTICLE).body.decode()
    tools = re.search(r'<div class="pwa-tools" data-pwa-tools hidden>(.*?)</div>', page, re.S).group(1)
    assert 'data-pwa-wakelock aria-pressed="false" hidden>Keep screen on</button>' in tools
    assert "data-pwa-listen hidden>Listen</button>" in tools


def test_offline_page_is_a_public_cached_page(client):
    first = get(client, "/offline")
    second = get(client, "/offline")
    assert first.status_code == 200
    assert first.body == second.body
    assert first.headers["ETag"] == second.headers["ETag"]
    assert "Set-Cookie" not in first.headers
    page = first.body.decode()
    assert "You're offline" in page
    assert '<meta name="robots" content="noindex">' in page
    assert "data-pwa-saved-list" in page
    assert "Articles you have opened on this device can still be read" in page  # without JavaScript


def test_service_worker_is_served_from_the_root_and_revalidated(client):
    response = get(client, "/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    assert "Service-Worker-Allowed" not in response.headers
    assert "Set-Cookie" not in response.headers
    version, entries, timeout = worker_manifest(response.body.decode())
    assert re.fullmatch(r"[0-9a-f]{16}", version)
    assert timeout == 3000
    assert "skipWaiting()" in response.body.decode()  # only inside the SKIP_WAITING message handler
    assert re.search(r'data\.type === "SKIP_WAITING"\) self\.skipWaiting\(\)', response.body.decode())


def test_precache_lists_static_files_and_pages_with_content_revisions(client, app):
    _, entries, _ = worker_manifest(get(client, "/sw.js").body.decode())
    by_url = {e["url"]: e for e in entries}
    assets = app.extensions["assets"]
    for name, hashed in assets.hashed.items():
        entry = by_url[f"/static/{hashed}"]
        assert entry["revision"] == assets.digests[name][:32]
        assert entry["kind"] == "static"
    for path in ["/", "/offline", ARTICLE]:
        page = get(client, path)
        assert by_url[path]["kind"] == "page"
        assert by_url[path]["revision"] == hashlib.sha256(page.body).hexdigest()[:32]
        assert page.headers["ETag"].strip('"') == by_url[path]["revision"]
    assert not [url for url in by_url if url.startswith("/owner")]
    for url in by_url:  # everything listed can be fetched
        assert get(client, url).status_code == 200, url


@pytest.fixture
def edited_content(tmp_path):
    """A copy of content/ with one sentence of the article changed."""
    folder = tmp_path / "content"
    shutil.copytree(ROOT / "content", folder)
    article = folder / "articles" / "back-pain-relief-walking.md"
    text = article.read_text(encoding="utf-8")
    article.write_text(text.replace("Back pain is a prevalent issue", "Back pain is a common issue", 1))
    return folder


def test_editing_an_article_changes_its_revision_and_the_cache_version(app, client, edited_content, tmp_path):
    version, entries, _ = worker_manifest(get(client, "/sw.js").body.decode())
    edited = create_app({**app.config, "CONTENT_DIR": str(edited_content)})
    new_version, new_entries, _ = worker_manifest(get(edited.test_client(), "/sw.js").body.decode())
    old = {e["url"]: e["revision"] for e in entries}
    new = {e["url"]: e["revision"] for e in new_entries}
    assert new_version != version
    assert old.keys() == new.keys()
    changed = {url for url in old if old[url] != new[url]}
    assert changed == {ARTICLE}  # the home page shows the description only, which did not change
    with edited.app_context():
        from webapp.extensions import db

        db.engine.dispose()


def test_network_timeout_is_configurable(app, client):
    app.config["PWA_NETWORK_TIMEOUT_MS"] = 1500
    _, _, timeout = worker_manifest(get(client, "/sw.js").body.decode())
    assert timeout == 1500


def test_precache_command_lists_what_is_saved(runner):
    result = runner.invoke(args=["pwa", "precache"])
    assert result.exit_code == 0, result.output
    assert re.search(r"^cache version [0-9a-f]{16}$", result.output, re.M)
    assert re.search(rf"^[0-9a-f]{{12}}  {ARTICLE}$", result.output, re.M)
    assert re.search(r"^[0-9a-f]{12}  /offline$", result.output, re.M)
