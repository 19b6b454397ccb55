"""'Was this page helpful?': votes, comments, spam and abuse, totals, the CSV export."""

import csv
import io
import re
import secrets
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webapp.extensions import db
from webapp.feedback.models import Vote
from webapp.feedback.service import (
    add_comment,
    article_totals,
    feedback_csv_lines,
    latest_comments,
    record_vote,
)
from webapp.idempotency import KEY_RE, IdempotencyKey

SLUG = "back-pain-relief-walking"
ARTICLE = f"/articles/{SLUG}"
VOTE = f"{ARTICLE}/feedback"
COMMENT = f"{ARTICLE}/feedback/comment"
JSON = {"Accept": "application/json"}
THANKS = "Thank you for your answer."
SENT = "Your comment has been sent"
VOTE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def new_id() -> str:
    return secrets.token_urlsafe(18)


def rows(app) -> list[tuple]:
    """Every stored vote: (article, vote_id, vote, comment), oldest first."""
    with app.app_context():
        result = db.session.execute(
            db.select(Vote.article, Vote.vote_id, Vote.vote, Vote.comment).order_by(Vote.id)
        ).all()
        db.session.remove()
        return [tuple(r) for r in result]


def widget(html: str) -> str:
    """The feedback region of a page."""
    match = re.search(r'<section class="feedback" id="feedback".*?</section>', html, re.S)
    assert match, "no feedback region on the page"
    return match.group(0)


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def button_names(html: str) -> list[str]:
    return [text_of(b).replace(" ,", ",") for b in re.findall(r"<button[^>]*>(.*?)</button>", html, re.S)]


def textarea_value(html: str) -> str:
    import html as htmllib

    body = re.search(r"<textarea[^>]*>(?:\r?\n)?(.*?)</textarea>", html, re.S).group(1)
    return htmllib.unescape(body)


def state_from(location: str) -> tuple[str, str]:
    """(vote, vote_id) from a no-JavaScript redirect's `?feedback=yes.<id>`."""
    parts = urllib.parse.urlsplit(location)
    assert parts.path == ARTICLE and parts.fragment == "feedback"
    vote, _, vote_id = urllib.parse.parse_qs(parts.query)["feedback"][0].partition(".")
    return vote, vote_id


# --- the widget on the article ------------------------------------------------------------


def test_article_has_the_question_with_yes_and_no_buttons_and_no_per_reader_token(client, app):
    page = client.get(ARTICLE)
    region = widget(page.get_data(as_text=True))
    assert 'aria-labelledby="feedback-title"' in region
    assert '<h2 id="feedback-title">Was this page helpful?</h2>' in region
    assert "data-widget" in region and "data-enhance" in region
    assert f'action="{VOTE}"' in region and 'method="post"' in region
    assert button_names(region) == ["Yes, this page was helpful", "No, this page was not helpful"]
    assert 'name="vote_id"' not in region and "csrf" not in region  # nothing per reader
    assert re.search(r'<label for="feedback-website">Leave this empty</label>', region)
    assert re.search(
        r'<input type="text" id="feedback-website" name="website" tabindex="-1" autocomplete="off">', region
    )
    assert "Set-Cookie" not in page.headers
    assert app.test_client().get(ARTICLE).data == page.data


# --- without JavaScript: Post/Redirect/Get ------------------------------------------------


def test_vote_without_javascript_is_stored_and_the_article_thanks_the_reader(client, app):
    response = client.post(VOTE, data={"vote": "yes"})
    assert response.status_code == 303
    vote, vote_id = state_from(response.headers["Location"])
    assert vote == "yes" and VOTE_ID_RE.match(vote_id)
    assert rows(app) == [(SLUG, vote_id, "yes", None)]

    page = client.get(response.headers["Location"])
    region = widget(page.get_data(as_text=True))
    assert THANKS in region
    assert '<label for="feedback-comment">What helped?</label>' in region
    assert "don&#39;t include personal details" in region
    assert f'name="vote_id" value="{vote_id}"' in region
    assert "Set-Cookie" not in page.headers
    assert "Was this page helpful?" in widget(client.get(ARTICLE).get_data(as_text=True))  # cache untouched
    assert THANKS not in client.get(ARTICLE).get_data(as_text=True)


def test_no_asks_what_was_missing_and_the_comment_attaches_to_the_same_vote(client, app):
    vote, vote_id = state_from(client.post(VOTE, data={"vote": "no"}).headers["Location"])
    page = client.get(f"{ARTICLE}?feedback=no.{vote_id}")
    assert '<label for="feedback-comment">What was missing or wrong?</label>' in page.get_data(as_text=True)

    response = client.post(COMMENT, data={"vote": "no", "vote_id": vote_id, "comment": "  More on shoes, please.  "})
    assert response.status_code == 303
    assert response.headers["Location"] == f"{ARTICLE}?feedback=sent#feedback"
    assert SENT in widget(client.get(response.headers["Location"]).get_data(as_text=True))
    assert rows(app) == [(SLUG, vote_id, "no", "More on shoes, please.")]


def test_changing_the_answer_without_javascript_keeps_one_row(client, app):
    _, vote_id = state_from(client.post(VOTE, data={"vote": "yes"}).headers["Location"])
    region = widget(client.get(f"{ARTICLE}?feedback=yes.{vote_id}").get_data(as_text=True))
    assert "Change my answer to No" in region
    response = client.post(VOTE, data={"vote": "no", "vote_id": vote_id})
    assert state_from(response.headers["Location"]) == ("no", vote_id)
    client.post(COMMENT, data={"vote": "no", "vote_id": vote_id, "comment": "Too short."})
    assert rows(app) == [(SLUG, vote_id, "no", "Too short.")]


def test_without_javascript_each_submission_counts_once(client, app):
    client.post(VOTE, data={"vote": "yes"})
    client.post(VOTE, data={"vote": "yes"})
    assert [r[2] for r in rows(app)] == ["yes", "yes"]


@pytest.mark.parametrize("query", ["feedback=maybe.0123456789abcdef", "feedback=yes.short", "feedback=<b>", "x=1"])
def test_a_made_up_feedback_state_shows_the_question(client, query):
    region = widget(client.get(f"{ARTICLE}?{query}").get_data(as_text=True))
    assert button_names(region)[0] == "Yes, this page was helpful"
    assert "<b>" not in region


# --- with JavaScript: fetch() and JSON --------------------------------------------------


def test_fetch_vote_answers_the_thanks_widget_as_json(client, app):
    vote_id = new_id()
    response = client.post(
        VOTE, data={"vote": "yes", "vote_id": vote_id}, headers={**JSON, "Idempotency-Key": str(uuid.uuid4())}
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    data = response.get_json()
    assert data["ok"] is True
    html = data["html"]
    assert html.strip().startswith('<section class="feedback" id="feedback"') and "data-widget" in html
    assert re.search(r'<div class="notice" role="status" tabindex="-1" data-focus>\s*<p>' + THANKS, html)
    assert f'name="vote_id" value="{vote_id}"' in html
    assert rows(app) == [(SLUG, vote_id, "yes", None)]


def test_yes_then_no_then_comment_is_one_row_and_two_readers_are_two(client, app):
    reader, other = new_id(), new_id()
    for vote in ("yes", "no"):
        client.post(VOTE, data={"vote": vote, "vote_id": reader}, headers={**JSON, "Idempotency-Key": new_id()})
    client.post(VOTE, data={"vote": "yes", "vote_id": other}, headers={**JSON, "Idempotency-Key": new_id()})
    response = client.post(
        COMMENT,
        data={"vote": "no", "vote_id": reader, "comment": "Missing: how fast to walk."},
        headers={**JSON, "Idempotency-Key": new_id()},
    )
    assert response.get_json()["ok"] is True
    assert SENT in response.get_json()["html"]
    assert rows(app) == [(SLUG, reader, "no", "Missing: how fast to walk."), (SLUG, other, "yes", None)]


def test_same_vote_id_on_two_articles_is_two_rows(app):
    with app.app_context():
        record_vote(SLUG, "yes", "a" * 20)
        record_vote("another-article", "no", "a" * 20)
        db.session.commit()
    assert sorted(r[0] for r in rows(app)) == ["another-article", SLUG]


def test_a_replayed_idempotency_key_changes_nothing(client, app):
    reader, first, second = new_id(), new_id(), new_id()
    client.post(VOTE, data={"vote": "yes", "vote_id": reader}, headers={**JSON, "Idempotency-Key": first})
    client.post(VOTE, data={"vote": "no", "vote_id": reader}, headers={**JSON, "Idempotency-Key": second})
    # An offline queue sends the first request again: it was applied, so it must not undo "no".
    replay = client.post(VOTE, data={"vote": "yes", "vote_id": reader}, headers={**JSON, "Idempotency-Key": first})
    assert replay.status_code == 200 and replay.get_json()["ok"] is True
    comment_key = new_id()
    for text in ("First words.", "Replayed with other words."):
        client.post(
            COMMENT,
            data={"vote": "no", "vote_id": reader, "comment": text, "idempotency_key": comment_key},
            headers=JSON,
        )
    assert rows(app) == [(SLUG, reader, "no", "First words.")]


def test_comment_before_its_vote_arrives_stores_both(client, app):
    reader = new_id()
    client.post(COMMENT, data={"vote": "no", "vote_id": reader, "comment": "Queued offline."}, headers=JSON)
    assert rows(app) == [(SLUG, reader, "no", "Queued offline.")]


# --- bad input changes nothing -------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, JSON], ids=["html", "json"])
def test_honeypot_gets_the_normal_thanks_and_stores_nothing(client, app, headers):
    response = client.post(VOTE, data={"vote": "yes", "website": "http://spam.example"}, headers=headers)
    if headers:
        assert response.status_code == 200 and THANKS in response.get_json()["html"]
    else:
        assert response.status_code == 303 and state_from(response.headers["Location"])[0] == "yes"
    reader = new_id()
    client.post(VOTE, data={"vote": "no", "vote_id": reader}, headers=headers)
    response = client.post(
        COMMENT, data={"vote": "no", "vote_id": reader, "comment": "Buy pills", "website": "x"}, headers=headers
    )
    if headers:
        assert SENT in response.get_json()["html"]
    else:
        assert response.headers["Location"].endswith("?feedback=sent#feedback")
    assert rows(app) == [(SLUG, reader, "no", None)]


@pytest.mark.parametrize("path", [VOTE, COMMENT])
@pytest.mark.parametrize(
    "headers",
    [{"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}, {"Origin": "https://evil.example"}],
    ids=["cross-site", "same-site", "foreign-origin"],
)
def test_cross_site_posts_are_403_and_write_nothing(client, app, path, headers):
    data = {"vote": "yes", "vote_id": new_id(), "comment": "Forged."}
    response = client.post(path, data=data, headers=headers)
    assert response.status_code == 403
    assert "only be sent from this site" in response.get_data(as_text=True)
    assert client.post(path, data=data, headers={**headers, **JSON}).get_json()["ok"] is False
    assert rows(app) == []


@pytest.mark.parametrize(
    "headers", [{"Sec-Fetch-Site": "same-origin"}, {"Origin": "http://localhost"}, {}], ids=["fetch", "origin", "none"]
)
def test_same_origin_posts_from_a_days_old_page_go_through(client, app, headers):
    # The page carries no token, so a copy cached days ago posts exactly as a fresh one.
    assert client.post(VOTE, data={"vote": "no"}, headers=headers).status_code == 303
    assert len(rows(app)) == 1


@pytest.mark.parametrize("path", ["/articles/no-such-article/feedback", "/articles/no-such-article/feedback/comment"])
def test_unknown_article_is_404(client, app, path):
    data = {"vote": "yes", "vote_id": new_id(), "comment": "Hello"}
    response = client.post(path, data=data)
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)
    assert client.post(path, data=data, headers=JSON).get_json()["error"] == "Page not found"
    assert rows(app) == []


@pytest.mark.parametrize(
    "data",
    [{"vote": "maybe"}, {"vote": ""}, {"vote": "YES"}, {}, {"vote": "yes", "vote_id": "short"}],
    ids=["maybe", "empty", "uppercase", "missing", "bad-vote-id"],
)
def test_bad_vote_is_400_with_a_clear_message(client, app, data):
    response = client.post(VOTE, data=data)
    assert response.status_code == 400
    message = 'The vote must be "yes" or "no".' if "vote_id" not in data else "The vote id must be"
    assert message in response.get_data(as_text=True).replace("&#34;", '"').replace("&quot;", '"')
    assert message in client.post(VOTE, data=data, headers=JSON).get_json()["message"]
    assert rows(app) == []


@pytest.mark.parametrize("where", ["header", "field"])
def test_bad_idempotency_key_is_400(client, app, where):
    data = {"vote": "yes"}
    headers = dict(JSON)
    if where == "header":
        headers["Idempotency-Key"] = "not a key!"
    else:
        data["idempotency_key"] = "short"
    response = client.post(VOTE, data=data, headers=headers)
    assert response.status_code == 400
    assert "Idempotency-Key must be" in response.get_json()["message"]
    assert rows(app) == []


def test_comment_with_tampered_hidden_fields_is_400(client, app):
    response = client.post(COMMENT, data={"vote": "perhaps", "vote_id": new_id(), "comment": "Hi"}, headers=JSON)
    assert response.status_code == 400 and "yes" in response.get_json()["message"]
    response = client.post(COMMENT, data={"vote": "yes", "comment": "Hi"}, headers=JSON)
    assert response.status_code == 400 and "vote id" in response.get_json()["message"]
    assert rows(app) == []


def test_too_long_comment_without_javascript_shows_the_error_and_keeps_the_text(client, app):
    _, vote_id = state_from(client.post(VOTE, data={"vote": "yes"}).headers["Location"])
    text = 'Great <walk> & "tips" ✓\n' * 50  # 1,200 characters
    response = client.post(COMMENT, data={"vote": "yes", "vote_id": vote_id, "comment": text})
    assert response.status_code == 400
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert "Back Pain Relief at Your Feet" in page  # the article, with the widget in its error state
    region = widget(page)
    assert "Keep your comment to 1,000 characters or fewer." in region
    assert 'aria-invalid="true"' in region and "data-focus" in region
    assert textarea_value(region) == text.strip()
    assert rows(app) == [(SLUG, vote_id, "yes", None)]


def test_too_long_comment_with_javascript_answers_the_form_with_its_error(client, app):
    reader = new_id()
    client.post(VOTE, data={"vote": "no", "vote_id": reader}, headers=JSON)
    text = "x" * 1001
    response = client.post(COMMENT, data={"vote": "no", "vote_id": reader, "comment": text}, headers=JSON)
    data = response.get_json()
    assert response.status_code == 400 and data["ok"] is False
    assert "Keep your comment to 1,000 characters or fewer." in data["html"]
    assert textarea_value(data["html"]) == text
    assert rows(app) == [(SLUG, reader, "no", None)]
    # exactly 1,000 (line ends counted once, as the browser counts them) is fine
    exact = "y" * 998 + "\r\nz"
    response = client.post(COMMENT, data={"vote": "no", "vote_id": reader, "comment": exact}, headers=JSON)
    assert response.get_json()["ok"] is True
    assert rows(app) == [(SLUG, reader, "no", "y" * 998 + "\nz")]


def test_empty_comment_asks_for_words(client, app):
    reader = new_id()
    client.post(VOTE, data={"vote": "yes", "vote_id": reader}, headers=JSON)
    response = client.post(COMMENT, data={"vote": "yes", "vote_id": reader, "comment": "   "}, headers=JSON)
    assert response.get_json()["ok"] is False
    assert "Write a comment before sending it." in response.get_json()["html"]
    assert rows(app) == [(SLUG, reader, "yes", None)]


def test_vote_and_comment_limits_per_ip_answer_429(client, app):
    app.config.update(FEEDBACK_VOTE_RATE_LIMIT="2 per minute", FEEDBACK_COMMENT_RATE_LIMIT="1 per minute")
    reader = new_id()
    for vote in ("yes", "no"):
        assert client.post(VOTE, data={"vote": vote, "vote_id": reader}).status_code == 303
    page = client.post(VOTE, data={"vote": "yes", "vote_id": reader})
    assert page.status_code == 429
    assert "Too many requests" in page.get_data(as_text=True)
    assert "Please wait a minute and try again." in page.get_data(as_text=True)
    blocked = client.post(VOTE, data={"vote": "yes", "vote_id": reader}, headers=JSON)
    assert blocked.status_code == 429 and blocked.get_json()["ok"] is False
    assert "wait a minute" in blocked.get_json()["message"]
    assert "Retry-After" in blocked.headers
    # comments are counted apart from votes
    assert client.post(COMMENT, data={"vote": "no", "vote_id": reader, "comment": "One."}).status_code == 303
    assert client.post(COMMENT, data={"vote": "no", "vote_id": reader, "comment": "Two."}).status_code == 429
    # another client (another IP) is not held up
    other = client.post(VOTE, data={"vote": "yes"}, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 303
    assert [(r[2], r[3]) for r in rows(app)] == [("no", "One."), ("yes", None)]


# --- fuzzing -------------------------------------------------------------------------------

TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=80)
FIELD = st.one_of(
    TEXT,
    st.sampled_from(["yes", "no", "Yes", "yes\x00", " yes", "no\n", ""]),
    st.from_regex(VOTE_ID_RE, fullmatch=True),
    st.integers(min_value=1_000, max_value=80_000).map(lambda n: "\x00é" * (n // 2)),
)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    vote=st.one_of(FIELD, st.none()),
    vote_id=st.one_of(FIELD, st.none()),
    key=st.one_of(FIELD, st.none(), st.uuids().map(str)),
    website=st.one_of(st.none(), st.just(""), FIELD),
    as_json=st.booleans(),
)
def test_fuzzed_votes_never_5xx_and_invalid_ones_write_nothing(client, app, vote, vote_id, key, website, as_json):
    app.config["FEEDBACK_VOTE_RATE_LIMIT"] = "100000 per minute"
    data = {name: value for name, value in [("vote", vote), ("vote_id", vote_id), ("website", website)] if value}
    if key:
        data["idempotency_key"] = key
    before = rows(app)
    with app.app_context():
        key_used = bool(key and KEY_RE.match(key)) and db.session.get(IdempotencyKey, key) is not None
        db.session.remove()
    response = client.post(VOTE, data=data, headers=JSON if as_json else {})
    after = rows(app)
    assert response.status_code < 500, response.get_data(as_text=True)[:500]

    clean_id = (vote_id or "").strip()
    valid = (
        len(urllib.parse.urlencode(data).encode()) <= 64 * 1024
        and vote in ("yes", "no")
        and (not clean_id or VOTE_ID_RE.fullmatch(clean_id))
        and (not key or KEY_RE.match(key))
    )
    if not valid:
        assert response.status_code in (400, 413), response.status_code
        assert after == before
        return
    assert response.status_code == (200 if as_json else 303)
    if (website or "").strip() or key_used:
        assert after == before
    elif clean_id:
        assert [r for r in after if r[1] == clean_id] == [(SLUG, clean_id, vote, None)]
        assert len(after) - len(before) in (0, 1)
    else:
        assert len(after) == len(before) + 1 and after[-1][2] == vote


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=400))
def test_fuzzed_raw_bodies_never_5xx(client, app, body):
    app.config["FEEDBACK_VOTE_RATE_LIMIT"] = "100000 per minute"
    app.config["FEEDBACK_COMMENT_RATE_LIMIT"] = "100000 per minute"
    before = rows(app)
    for path in (VOTE, COMMENT):
        response = client.post(path, data=body, content_type="application/x-www-form-urlencoded")
        assert response.status_code < 500
    if rows(app) != before:  # only a body that happens to be a valid vote may write
        assert b"vote=" in body


# --- the owner's side: totals, latest comments, CSV ----------------------------------------


def test_article_totals_list_every_article_with_helpful_percentage(app):
    with app.app_context():
        assert [t for t in article_totals() if t["article"] == SLUG] == [
            {
                "article": SLUG,
                "title": "Back Pain Relief at Your Feet: Uncover the Surprising Power of Walking",
                "yes": 0,
                "no": 0,
                "votes": 0,
                "helpful_pct": None,
                "comments": 0,
            }
        ]
        for vote in ("yes", "yes", "no"):
            record_vote(SLUG, vote, new_id())
        add_comment(SLUG, new_id(), "yes", "Nice.")
        record_vote("retired-article", "no", new_id())
        db.session.commit()
        totals = {t["article"]: t for t in article_totals()}
    assert totals[SLUG] == {
        "article": SLUG,
        "title": "Back Pain Relief at Your Feet: Uncover the Surprising Power of Walking",
        "yes": 3,
        "no": 1,
        "votes": 4,
        "helpful_pct": 75.0,
        "comments": 1,
    }
    assert totals["retired-article"]["title"] is None and totals["retired-article"]["helpful_pct"] == 0.0
    assert list(totals)[0] == SLUG  # most votes first


def test_latest_comments_newest_first_paginated_and_by_article(app):
    with app.app_context():
        record_vote(SLUG, "yes", new_id())  # no comment: not listed
        for n in range(5):
            add_comment(SLUG, new_id(), "no", f"Comment {n}")
            db.session.commit()
            time.sleep(0.002)
        add_comment("other-article", new_id(), "yes", "Elsewhere")
        db.session.commit()
        page = latest_comments(article=SLUG, page=1, per_page=2)
        assert [v.comment for v in page.items] == ["Comment 4", "Comment 3"]
        assert page.total == 5 and page.pages == 3 and page.has_next
        assert [v.comment for v in latest_comments(article=SLUG, page=3, per_page=2).items] == ["Comment 0"]
        assert latest_comments(article=SLUG, page=9, per_page=2).items == []
        assert latest_comments().items[0].comment == "Elsewhere"
        assert latest_comments().total == 6


FORMULAS = ['=HYPERLINK("http://evil")', "+1+1", "-2", "@SUM(A1)", "\tTab", "\rCR", "\nLF"]
PLAIN = 'Line one\nsaid "hi", then → ünïcödé 🚶; 50% of people'


def test_export_csv_parses_neutralises_formulas_and_round_trips_text(app, runner, tmp_path):
    with app.app_context():
        add_comment(SLUG, new_id(), "yes", PLAIN)
        for text in FORMULAS:
            add_comment(SLUG, new_id(), "no", text)
        record_vote(SLUG, "yes", new_id())
        db.session.commit()
        expected = "".join(feedback_csv_lines())

    result = runner.invoke(args=["feedback", "export"])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == expected.encode("utf-8")
    table = list(csv.reader(io.StringIO(expected, newline="")))
    assert table[0] == ["article", "vote", "comment", "created_at", "updated_at"]
    assert table[1][:3] == [SLUG, "yes", PLAIN]
    assert [r[2] for r in table[2:9]] == ["'" + t for t in FORMULAS]
    assert table[9][1:3] == ["yes", ""]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r[3]) for r in table[1:])
    assert all(len(r) == 5 for r in table)

    out = tmp_path / "feedback.csv"
    result = runner.invoke(args=["feedback", "export", "--output", str(out)])
    assert result.exit_code == 0
    assert out.read_bytes() == expected.encode("utf-8")


def test_export_of_nothing_is_the_header(runner):
    result = runner.invoke(args=["feedback", "export"])
    assert result.stdout_bytes == b"article,vote,comment,created_at,updated_at\r\n"


def test_no_ip_address_or_user_agent_is_stored(app):
    with app.app_context():
        columns = {c.name for c in Vote.__table__.columns}
    assert columns == {"id", "article", "vote_id", "vote", "comment", "created_at", "updated_at"}


# --- limits across gunicorn workers ----------------------------------------------------------


def post_vote(url: str, **fields) -> int:
    body = urllib.parse.urlencode({"vote": "yes", **fields}).encode()
    request = urllib.request.Request(url + VOTE, data=body, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        error.close()
        return error.code


def vote_from_the_other_worker(url: str) -> int:
    """Hold one worker on a half-sent request, vote twice (the other worker answers), then
    finish the held request: the first worker answers the third vote."""
    port = int(urllib.parse.urlsplit(url).port)
    body = b"vote=yes"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as held:
        held.sendall(f"POST {VOTE} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode())
        time.sleep(0.5)  # a sync worker has accepted it and waits for the rest
        assert post_vote(url) == 200
        assert post_vote(url) == 200
        held.sendall(
            b"Accept: application/json\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        answer = b""
        while chunk := held.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def test_memory_limits_are_per_worker(server_factory):
    """The control for the Redis test below: without shared storage, each worker counts alone."""
    server = server_factory(workers=2, env={"FEEDBACK_VOTE_RATE_LIMIT": "2 per minute"})
    assert vote_from_the_other_worker(server.url) == 200


def test_redis_limits_hold_across_workers(server_factory):
    import os

    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("TEST_REDIS_URL is not set: shared rate-limit test skipped")
    import redis

    prefix = f"fitspot-test-feedback-{uuid.uuid4().hex}"
    server = server_factory(
        workers=2,
        env={
            "RATELIMIT_STORAGE_URI": redis_url,
            "RATELIMIT_KEY_PREFIX": prefix,
            "FEEDBACK_VOTE_RATE_LIMIT": "2 per minute",
        },
    )
    try:
        assert vote_from_the_other_worker(server.url) == 429
        assert post_vote(server.url) == 429
    finally:
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=f"*{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()
