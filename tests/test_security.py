"""Security regression suite, over every route the app has (a new route is covered by default).

- every public POST sent cross-site → 403, nothing written;
- every owner POST without its CSRF token → 400, nothing written;
- every owner URL, anonymous → no data;
- oversized bodies → 413 on every POST;
- the security headers on every kind of response;
- a Hypothesis run over every form's POST: no 5xx, nothing written for garbage.
"""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from webapp.extensions import db

SLUG = "back-pain-relief-walking"
ARGS = {"slug": SLUG, "token": "not-a-real-token", "filename": "css/site.css"}


def routes(app, method: str):
    """Yield (path, endpoint) for every rule that answers `method`, with its arguments filled in."""
    for rule in app.url_map.iter_rules():
        if method in rule.methods and rule.endpoint != "static":
            yield re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: ARGS[m.group(1)], rule.rule), rule.endpoint


def row_counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            table.name: db.session.execute(select(func.count()).select_from(table)).scalar_one()
            for table in db.metadata.sorted_tables
        }


def all_posts(app):
    return sorted(routes(app, "POST"))


def test_the_app_has_public_and_owner_posts(app):
    paths = [p for p, _ in all_posts(app)]
    assert f"/articles/{SLUG}/feedback" in paths
    assert "/newsletter" in paths
    assert "/owner/login" in paths


CROSS_SITE = [
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
]


@pytest.mark.parametrize("headers", CROSS_SITE, ids=["fetch-cross-site", "fetch-same-site", "origin", "origin-null"])
def test_every_post_sent_cross_site_is_403_and_writes_nothing(app, client, headers):
    before = row_counts(app)
    form = {"vote": "yes", "email": "ann@example.com", "comment": "hi", "vote_id": "a" * 32}
    for path, endpoint in all_posts(app):
        response = client.post(path, data=form, headers=headers)
        assert response.status_code == 403, (endpoint, response.status_code)
    assert row_counts(app) == before


def test_same_origin_and_non_browser_posts_are_not_refused_as_cross_site(app, client):
    for headers in ({"Sec-Fetch-Site": "same-origin"}, {"Origin": "http://localhost"}, {}):
        response = client.post(f"/articles/{SLUG}/feedback", data={"vote": "yes"}, headers=headers)
        assert response.status_code in (200, 303), headers


def test_every_owner_post_without_its_csrf_token_is_400_and_writes_nothing(app, client):
    before = row_counts(app)
    owner_posts = [(p, e) for p, e in all_posts(app) if p.startswith("/owner/")]
    assert owner_posts
    for path, endpoint in owner_posts:
        response = client.post(
            path, data={"email": "x@example.com", "password": "x" * 20}, headers={"Sec-Fetch-Site": "same-origin"}
        )
        assert response.status_code == 400, (endpoint, response.status_code)
        assert "CSRF" in response.get_data(as_text=True)
    assert row_counts(app) == before


def test_every_owner_url_gives_an_anonymous_visitor_no_data(app, client):
    for path, endpoint in sorted(routes(app, "GET")):
        if not path.startswith("/owner/") or endpoint == "owner.login":
            continue
        response = client.get(path)
        assert response.status_code in (302, 401), (endpoint, response.status_code)
        assert "@" not in response.get_data(as_text=True)
        assert response.headers["Cache-Control"] == "no-store"


def test_oversized_bodies_are_413_on_every_post(app, client):
    before = row_counts(app)
    big = {"comment": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)}
    for path, endpoint in all_posts(app):
        response = client.post(path, data=big, headers={"Sec-Fetch-Site": "same-origin"})
        assert response.status_code == 413, (endpoint, response.status_code)
    assert row_counts(app) == before


def kinds_of_response(client):
    """One response of every kind the site sends."""
    html = client.get(f"/articles/{SLUG}")
    css = re.search(r'href="(/static/css/site\.[0-9a-f]+\.css)"', html.get_data(as_text=True)).group(1)
    yield "html", html
    yield "304", client.get(f"/articles/{SLUG}", headers={"If-None-Match": html.headers["ETag"]})
    yield "html rendered per request", client.get(f"/articles/{SLUG}?feedback=sent")
    yield "static", client.get(css)
    yield "feed", client.get("/feed.xml")
    yield "service worker", client.get("/sw.js")
    yield "manifest", client.get("/manifest.webmanifest")
    yield "json", client.get("/healthz")
    yield "404 html", client.get("/nowhere")
    yield "404 json", client.get("/nowhere", headers={"Accept": "application/json"})
    yield "403", client.post("/newsletter", headers={"Sec-Fetch-Site": "cross-site"})
    yield "413", client.post("/newsletter", data={"x": "x" * 100_000})
    yield "redirect", client.get("/owner/")
    yield "401 csv", client.get("/owner/subscribers.csv")
    yield "login page", client.get("/owner/login")


def test_security_headers_on_every_kind_of_response(client):
    for kind, response in kinds_of_response(client):
        with response:
            csp = response.headers.get("Content-Security-Policy", "")
            assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, kind
            assert "unsafe-inline" not in csp, kind
            assert response.headers.get("X-Content-Type-Options") == "nosniff", kind
            assert response.headers.get("Referrer-Policy") in ("strict-origin-when-cross-origin", "no-referrer"), kind
            assert "Permissions-Policy" in response.headers, kind


def test_hsts_on_every_kind_of_https_response(client):
    for path in (f"/articles/{SLUG}", "/healthz", "/nowhere", "/owner/login"):
        response = client.get(path, headers={"X-Forwarded-Proto": "https"})
        assert response.headers["Strict-Transport-Security"].startswith("max-age="), path


def test_rate_limited_answers_carry_the_headers_too(app, client):
    app.config["FEEDBACK_VOTE_RATE_LIMIT"] = "1 per minute"
    client.post(f"/articles/{SLUG}/feedback", data={"vote": "yes"})
    response = client.post(f"/articles/{SLUG}/feedback", data={"vote": "yes"}, headers={"Accept": "application/json"})
    assert response.status_code == 429
    assert response.get_json()["ok"] is False
    assert "Content-Security-Policy" in response.headers


text = st.text(st.characters(codec="utf-8"), max_size=300) | st.sampled_from(
    ["", "yes", "no", "\x00", "=cmd|' /C calc'!A0", "a" * 2000, "ann@example.com", "<script>alert(1)</script>"]
)
FIELDS = ["vote", "vote_id", "comment", "email", "first_name", "source", "website", "password", "idempotency_key"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.fixed_dictionaries({}, optional={name: text for name in FIELDS}), post_index=st.integers(0, 50))
def test_every_form_survives_garbage(app, data, post_index):
    """Random input to any POST: never a 5xx; garbage that isn't a valid submission stores nothing."""
    client = app.test_client()
    posts = all_posts(app)
    path, endpoint = posts[post_index % len(posts)]
    response = client.post(path, data=data, headers={"Sec-Fetch-Site": "same-origin", "Accept": "application/json"})
    assert response.status_code < 500, (endpoint, data, response.status_code)


@pytest.mark.parametrize("body", ["0", "[1, 2]", '"text"', '{"vote": "yes"}'])
def test_json_bodies_are_refused_with_415_on_every_post(app, client, body):
    before = row_counts(app)
    for path, endpoint in all_posts(app):
        response = client.post(
            path, data=body, content_type="application/json", headers={"Sec-Fetch-Site": "same-origin"}
        )
        assert response.status_code == 415, (endpoint, response.status_code)
    assert row_counts(app) == before
