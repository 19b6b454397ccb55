"""The article site: the seed published faithfully, feeds, headers, caching, bad content."""

import gzip
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from webapp import create_app
from webapp.content import ContentError, load_library

SLUG = "back-pain-relief-walking"
ARTICLE = f"/articles/{SLUG}"
ROOT = Path(__file__).resolve().parent.parent


class TextAndScripts(HTMLParser):
    """Collect the visible text of a page, and its JSON-LD blocks."""

    def __init__(self):
        super().__init__()
        self.text: list[str] = []
        self.json_ld: list[str] = []
        self._skip = 0
        self._ld = False

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "title"):
            self._skip += 1
            self._ld = dict(attrs).get("type") == "application/ld+json"

    def handle_endtag(self, tag):
        if tag in ("script", "style", "title"):
            self._skip -= 1
            self._ld = False

    def handle_data(self, data):
        if self._ld:
            self.json_ld.append(data)
        elif not self._skip:
            self.text.append(data)


def parse(html: str) -> TextAndScripts:
    parser = TextAndScripts()
    parser.feed(html)
    return parser


def normalise(text: str) -> str:
    return " ".join(text.replace("…", "...").split())


def seed_lines(seed: str) -> list[str]:
    """Every line of the published article, as a reader would read it on our page."""
    lines = []
    for raw in seed.splitlines():
        line = raw.strip().lstrip("•").strip()
        if not line:
            continue
        line = re.sub(r"^\d+\. ", "", line)  # FAQ numbers come from the list markup
        if line == "Back to top button":
            line = "Back to top"
        lines.append(normalise(line))
    return lines


def test_seed_article_is_published_faithfully_in_order(client, seed_text):
    page = client.get(ARTICLE)
    assert page.status_code == 200
    text = normalise(" ".join(parse(page.get_data(as_text=True)).text))
    position = 0
    for line in seed_lines(seed_text):
        found = text.find(line, position)
        assert found >= 0, f"missing or out of order: {line!r}"
        position = found + len(line)


def test_article_structure(client):
    html = client.get(ARTICLE).get_data(as_text=True)
    assert '<aside class="key-points"' in html
    callout = re.search(r'<section[^>]*class="callout"[^>]*>(.*?)</section>', html, re.S)
    assert callout and "When to Seek Medical Attention" in callout.group(1)
    assert callout.group(1).count("<li>") == 4
    assert re.search(r'<a href="#top">Back to top</a>', html)
    assert 'id="top"' in html
    assert "not medical advice" in html
    assert html.count("<h3>") >= 5  # the five questions
    assert '<html lang="en">' in html


@pytest.mark.parametrize("path", ["/", ARTICLE])
def test_pages_have_meta_tags(client, path):
    html = client.get(path).get_data(as_text=True)
    assert re.search(r"<title>[^<]+</title>", html)
    assert re.search(r'<meta name="description" content="[^"]+">', html)
    assert f'<link rel="canonical" href="http://localhost{path}">' in html
    for prop in ("og:title", "og:description", "og:url", "og:type", "og:site_name"):
        assert f'property="{prop}"' in html


def test_home_lists_articles_newest_first(client, app):
    html = client.get("/").get_data(as_text=True)
    slugs = re.findall(r'data-slug="([^"]+)"', html)
    assert slugs == [a.slug for a in app.extensions["library"].articles]
    assert SLUG in slugs
    assert "min read" in html
    assert "Back Pain Relief at Your Feet" in html


def test_json_ld_describes_article_and_faq(client):
    blocks = parse(client.get(ARTICLE).get_data(as_text=True)).json_ld
    data = json.loads(blocks[0])
    kinds = {item["@type"]: item for item in data}
    assert kinds["Article"]["headline"].startswith("Back Pain Relief at Your Feet")
    assert kinds["Article"]["author"]["name"] == "Steven"
    faq = kinds["FAQPage"]["mainEntity"]
    assert len(faq) == 5
    assert faq[0]["name"] == "How long should I walk for back pain relief?"
    assert faq[4]["acceptedAnswer"]["text"].startswith("Maintain good posture")


def test_atom_feed(client):
    response = client.get("/feed.xml")
    assert response.mimetype == "application/atom+xml"
    root = ET.fromstring(response.data)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    for required in ("a:title", "a:id", "a:updated"):
        assert root.find(required, ns) is not None
    entries = root.findall("a:entry", ns)
    assert len(entries) == 1
    entry = entries[0]
    assert entry.find("a:id", ns).text == f"http://localhost{ARTICLE}"
    assert entry.find("a:author/a:name", ns).text == "Steven"
    assert "<h2" in entry.find("a:content", ns).text  # HTML carried as escaped text


def test_sitemap_lists_every_article_with_lastmod(client, app):
    root = ET.fromstring(client.get("/sitemap.xml").data)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    urls = {u.find("s:loc", ns).text: u.find("s:lastmod", ns) for u in root.findall("s:url", ns)}
    assert "http://localhost/" in urls
    for article in app.extensions["library"].articles:
        lastmod = urls[f"http://localhost/articles/{article.slug}"]
        assert lastmod is not None and lastmod.text == article.updated.isoformat()


def test_robots_points_at_sitemap(client):
    body = client.get("/robots.txt").get_data(as_text=True)
    assert "Sitemap: http://localhost/sitemap.xml" in body
    assert "Disallow: /owner/" in body


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_healthz_503_when_database_is_gone(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x" * 40,
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1",
        }
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"


def test_unknown_article_is_a_styled_404(client):
    response = client.get("/articles/no-such-thing")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)
    assert 'href="/static/css/site.' in response.get_data(as_text=True)
    json_response = client.get("/articles/no-such-thing", headers={"Accept": "application/json"})
    assert json_response.status_code == 404
    assert json_response.get_json()["ok"] is False


def test_500_is_styled_and_hides_the_trace(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail")

    response = client.get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong" in body
    assert "secret detail" not in body and "Traceback" not in body


# --- HTTP: caching, compression, headers -------------------------------------------------


def test_etag_and_304(client):
    first = client.get(ARTICLE)
    etag = first.headers["ETag"]
    assert etag
    again = client.get(ARTICLE, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert client.get(ARTICLE, headers={"If-None-Match": '"other"'}).status_code == 200


def test_public_pages_are_the_same_bytes_for_everyone_and_set_no_cookie(client, app):
    first = client.get(ARTICLE)
    second = app.test_client().get(ARTICLE)
    assert first.data == second.data
    assert first.headers["ETag"] == second.headers["ETag"]
    assert "Set-Cookie" not in first.headers
    assert "Set-Cookie" not in client.get("/").headers


def test_gzip_when_accepted(client):
    plain = client.get(ARTICLE)
    zipped = client.get(ARTICLE, headers={"Accept-Encoding": "gzip, br"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == plain.data
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert len(zipped.data) < 14 * 1024  # the first round trip


def test_static_urls_are_hashed_and_immutable(client):
    html = client.get(ARTICLE).get_data(as_text=True)
    css = re.search(r'href="(/static/css/site\.[0-9a-f]{12}\.css)"', html).group(1)
    with client.get(css) as response:
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.data == (ROOT / "static/css/site.css").read_bytes()
    assert client.get("/static/css/site.000000000000.css").status_code == 404
    with client.get("/static/css/site.css") as plain:
        assert plain.headers["Cache-Control"] == "no-cache"


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def assert_security_headers(response):
    csp = response.headers["Content-Security-Policy"]
    for part in (
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ):
        assert part in csp
    assert "unsafe-inline" not in csp
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert "camera=()" in response.headers["Permissions-Policy"]


@pytest.mark.parametrize("path", ["/", ARTICLE, "/feed.xml", "/robots.txt", "/healthz", "/articles/missing"])
def test_security_headers_everywhere(client, path):
    assert_security_headers(client.get(path))


def test_security_headers_on_static(client):
    html = client.get("/").get_data(as_text=True)
    css = re.search(r'href="(/static/css/site\.[0-9a-f]+\.css)"', html).group(1)
    with client.get(css) as response:
        assert_security_headers(response)


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    secure = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_proxy_headers_are_honoured(app, tmp_path):
    app.config["SITE_URL"] = ""
    response = app.test_client().get(
        "/robots.txt", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "fitspot.example"}
    )
    assert "Sitemap: https://fitspot.example/sitemap.xml" in response.get_data(as_text=True)


def test_oversized_body_is_413(client):
    response = client.post("/", data={"x": "a" * 200_000})
    assert response.status_code == 413
    assert_security_headers(response)


def test_cross_site_post_is_403(client):
    response = client.post("/", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403
    response = client.post("/", headers={"Origin": "https://evil.example"})
    assert response.status_code == 403


# --- content validation ------------------------------------------------------------------

GOOD_AUTHOR = "---\nname: Ann\nshort_bio: Runs.\n---\nAnn runs a lot.\n"
GOOD_ARTICLE = (
    "---\ntitle: {title}\nslug: {slug}\nauthor: {author}\npublished: 2024-01-01\n"
    "description: D\ncategory: Guide\n---\nBody\n"
)


def write_content(root: Path, articles: dict[str, str]) -> Path:
    (root / "authors").mkdir(parents=True)
    (root / "articles").mkdir()
    (root / "authors" / "ann.md").write_text(GOOD_AUTHOR)
    for name, text in articles.items():
        (root / "articles" / name).write_text(text)
    return root


def test_real_content_loads():
    library = load_library(ROOT / "content")
    assert library.get(SLUG).faq[0]["question"] == "How long should I walk for back pain relief?"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"a.md": GOOD_ARTICLE.replace("title: {title}\n", "").format(slug="a", author="ann")},
            r"a\.md: missing required field 'title'",
        ),
        (
            {
                "a.md": GOOD_ARTICLE.format(title="A", slug="same", author="ann"),
                "b.md": GOOD_ARTICLE.format(title="B", slug="same", author="ann"),
            },
            r"b\.md: field 'slug' duplicates 'same'",
        ),
        (
            {"a.md": GOOD_ARTICLE.format(title="A", slug="a", author="bob")},
            r"a\.md: field 'author' names unknown author 'bob'",
        ),
        ({"a.md": GOOD_ARTICLE.format(title="A", slug="Not A Slug", author="ann")}, r"a\.md: field 'slug' must be"),
        ({"a.md": "no front matter"}, r"a\.md: no front matter"),
    ],
)
def test_bad_content_stops_start_up_naming_file_and_field(tmp_path, files, message):
    root = write_content(tmp_path / "content", files)
    with pytest.raises(ContentError, match=message):
        create_app(
            {"TESTING": True, "SECRET_KEY": "x" * 40, "INSTANCE_PATH": str(tmp_path / "i"), "CONTENT_DIR": str(root)}
        )


def test_secret_key_is_generated_once_with_0600(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = create_app({"INSTANCE_PATH": str(tmp_path)})
    second = create_app({"INSTANCE_PATH": str(tmp_path)})
    key_file = tmp_path / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == key_file.read_text().strip()
    assert len(first.config["SECRET_KEY"]) >= 64


def test_sqlite_connections_are_wal_with_busy_timeout_and_foreign_keys(app):
    from webapp.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite settings")
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_hashed_text_files_are_gzipped_and_images_are_not(client, app):
    assets = app.extensions["assets"]
    css = "/static/" + assets.url_name("css/site.css")
    zipped = client.get(css, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["Content-Type"] == "text/css; charset=utf-8"
    assert gzip.decompress(zipped.data) == (ROOT / "static/css/site.css").read_bytes()
    assert client.get(css, headers={"If-None-Match": zipped.headers["ETag"]}).status_code == 304
    png = next(name for name in assets.hashed if name.endswith(".png"))
    image = client.get("/static/" + assets.url_name(png), headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in image.headers
    assert image.data == (ROOT / "static" / png).read_bytes()
