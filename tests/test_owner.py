"""The owner's area: accounts, login and its defences, the dashboard, erasure."""

import datetime as dt
import html
import logging
import random
import re
import time

import pytest
from werkzeug.security import check_password_hash

from webapp.extensions import db
from webapp.feedback.models import Vote
from webapp.idempotency import utcnow
from webapp.newsletter.models import Subscriber
from webapp.owner.accounts import create_owner
from webapp.owner.models import Owner

EMAIL = "steven@example.com"
PASSWORD = "walk-every-day-2026"
LOGIN = "/owner/login"
WRONG = "Email or password is wrong."
SECRET_EMAIL = "private.person@example.org"
SECRET_COMMENT = "a comment only the owner may read"

# Every URL of the owner area: (method, path, what an anonymous client gets).
PROTECTED = [
    ("GET", "/owner/", "login"),
    ("GET", "/owner/?page=2&article=back-pain-relief-walking", "login"),
    ("GET", "/owner/subscribers.csv", 401),
    ("GET", "/owner/subscribers.csv?status=all", 401),
    ("GET", "/owner/feedback.csv", 401),
    ("POST", "/owner/logout", "login"),
    ("POST", "/owner/erase", "login"),
    ("POST", "/owner/erase/confirm", "login"),
]


# --- helpers -------------------------------------------------------------------------------


def make_owner(app, email: str = EMAIL, password: str = PASSWORD) -> None:
    with app.app_context():
        create_owner(email, password)
        db.session.commit()
        db.session.remove()


def csrf_token(client, path: str = LOGIN) -> str:
    """The CSRF token of the form on a page (the session cookie that goes with it stays in the client)."""
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def login(client, email: str = EMAIL, password: str = PASSWORD, **extra):
    return client.post(LOGIN, data={"email": email, "password": password, "csrf_token": csrf_token(client), **extra})


def logged_in(app, client):
    make_owner(app)
    response = login(client)
    assert response.status_code == 302 and response.headers["Location"] == "/owner/"
    return client


def session_cookie(client):
    return client.get_cookie("fitspot_session")


def text_of(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def add_private_data(app) -> None:
    with app.app_context():
        db.session.add(Subscriber(email=SECRET_EMAIL, email_key=SECRET_EMAIL, status="subscribed"))
        db.session.add(Vote(article="back-pain-relief-walking", vote_id="v" * 20, vote="no", comment=SECRET_COMMENT))
        db.session.commit()
        db.session.remove()


# --- every URL is closed to strangers ----------------------------------------------------------


def test_the_list_of_protected_urls_covers_every_owner_route(app):
    routes = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/owner/") and rule.endpoint != "owner.login"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    listed = {(method, path.split("?")[0]) for method, path, _ in PROTECTED}
    assert routes == listed


@pytest.mark.parametrize("method,path,expected", PROTECTED)
def test_anonymous_gets_the_login_page_or_401_and_never_data(app, client, method, path, expected):
    add_private_data(app)
    data = {"csrf_token": csrf_token(client), "email": SECRET_EMAIL} if method == "POST" else None
    response = client.open(path, method=method, data=data)
    body = response.get_data(as_text=True)
    assert SECRET_EMAIL not in body and SECRET_COMMENT not in body
    assert response.headers["Cache-Control"] == "no-store"
    if expected == "login":
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/owner/login?next=")
    else:
        assert response.status_code == 401
        assert "text/csv" not in response.content_type
    with app.app_context():
        assert db.session.execute(db.select(Subscriber.email)).scalars().all() == [SECRET_EMAIL]


@pytest.mark.parametrize("method,path,_", PROTECTED)
def test_anonymous_json_client_gets_401(client, method, path, _):
    headers = {"Accept": "application/json"}
    data = {"csrf_token": csrf_token(client)} if method == "POST" else None
    response = client.open(path, method=method, data=data, headers=headers)
    assert response.status_code == 401
    assert response.json["ok"] is False


def test_login_redirect_comes_back_to_the_page_asked_for(app, client):
    make_owner(app)
    location = client.get("/owner/?page=1").headers["Location"]
    assert location == "/owner/login?next=/owner/?page%3D1"
    page = client.get(location).get_data(as_text=True)
    assert 'name="next" value="/owner/?page=1"' in page
    response = login(client, next="/owner/?page=1")
    assert response.headers["Location"] == "/owner/?page=1"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/owner/", "/\\evil.example", "/articles/x"])
def test_login_never_redirects_off_the_owner_area(app, client, target):
    make_owner(app)
    assert login(client, next=target).headers["Location"] == "/owner/"


# --- login -------------------------------------------------------------------------------------


def test_login_page_has_email_password_and_log_in(client):
    response = client.get(LOGIN)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert re.search(r'<label for="email">Email</label>', page)
    assert re.search(r'<label for="password">Password</label>', page)
    assert '<button type="submit">Log in</button>' in page
    assert 'autocomplete="current-password"' in page
    assert "style=" not in page


def test_owner_logs_in_and_sees_the_dashboard(app, client):
    logged_in(app, client)
    response = client.get("/owner/")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    text = text_of(response.get_data(as_text=True))
    assert f"Logged in as {EMAIL}" in text
    assert "Dashboard" in text
    with app.app_context():
        owner = db.session.execute(db.select(Owner)).scalar_one()
        assert owner.last_login_at is not None and utcnow() - owner.last_login_at < dt.timedelta(minutes=1)


def test_email_is_matched_whatever_its_case(app, client):
    make_owner(app)
    assert login(client, email="  Steven@EXAMPLE.com ").status_code == 302


def without_token(page: str) -> str:
    return re.sub(r'value="[^"]*"', 'value=""', page)


def test_wrong_password_and_unknown_email_get_the_same_answer(app, client):
    make_owner(app)
    wrong_password = login(client, password="not-the-password-at-all")
    unknown = login(client, email="nobody@example.com")
    assert wrong_password.status_code == unknown.status_code == 200
    assert WRONG in wrong_password.get_data(as_text=True)
    # The same page, apart from the email typed and the CSRF token.
    assert without_token(wrong_password.get_data(as_text=True)) == without_token(unknown.get_data(as_text=True))
    assert client.get("/owner/").status_code == 302


def test_unknown_email_costs_a_password_check_too(app, client):
    make_owner(app)
    login(client, password="warm-up-the-decoy-hash")  # the decoy hash is made once, lazily

    def timed(**kwargs) -> float:
        start = time.perf_counter()
        login(client, **kwargs)
        return time.perf_counter() - start

    wrong = min(timed(password="not-the-password-at-all") for _ in range(2))
    unknown = min(timed(email="nobody@example.com") for _ in range(2))
    assert unknown > wrong * 0.3  # both run scrypt: no fast path for unknown addresses


def test_failed_logins_per_account_are_limited_and_logged(app, client, caplog):
    make_owner(app)
    for _ in range(5):
        assert login(client, password="not-the-password-at-all").status_code == 200
    with caplog.at_level(logging.WARNING, logger=app.logger.name):
        refused = login(client)  # even the right password, once the account is locked for a while
    assert refused.status_code == 429
    assert refused.headers["Cache-Control"] == "no-store"
    assert "rate limit" in caplog.text and EMAIL in caplog.text
    assert client.get("/owner/").status_code == 302
    # Another account from the same address is not locked.
    make_owner(app, "helper@example.com")
    assert login(client, email="helper@example.com").status_code == 302


def test_failed_logins_per_ip_are_limited(app, client):
    make_owner(app)
    for i in range(20):
        assert login(client, email=f"guess{i}@example.com").status_code == 200
    assert login(client).status_code == 429
    other_ip = app.test_client()
    token = csrf_token(other_ip)
    response = other_ip.post(
        LOGIN,
        data={"email": EMAIL, "password": PASSWORD, "csrf_token": token},
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert response.status_code == 302


def test_successful_logins_do_not_count_against_the_limit(app, client):
    make_owner(app)
    for _ in range(7):
        assert login(client).status_code == 302
        client.post("/owner/logout", data={"csrf_token": csrf_token(client, "/owner/")})


def test_login_needs_its_csrf_token(app, client):
    make_owner(app)
    response = client.post(LOGIN, data={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/owner/").status_code == 302


# --- the session ------------------------------------------------------------------------------


def test_login_starts_a_new_session(app, client):
    make_owner(app)
    csrf_token(client)
    before = session_cookie(client).value
    login(client)
    after = session_cookie(client).value
    assert before != after
    with client.session_transaction() as sess:
        assert set(sess) >= {"_user_id", "owner_login_at"}


def test_logout_ends_the_session_and_a_copied_cookie_no_longer_works(app, client):
    logged_in(app, client)
    stolen = session_cookie(client).value
    response = client.post("/owner/logout", data={"csrf_token": csrf_token(client, "/owner/")})
    assert response.status_code == 302 and response.headers["Location"] == "/owner/login"
    assert "You are logged out." in client.get(LOGIN).get_data(as_text=True)
    assert client.get("/owner/").status_code == 302

    thief = app.test_client()
    thief.set_cookie("fitspot_session", stolen)
    assert thief.get("/owner/").status_code == 302
    assert thief.get("/owner/subscribers.csv").status_code == 401


def test_cookie_is_httponly_samesite_lax_and_ends_with_the_browser(app, client):
    make_owner(app)
    response = login(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http on localhost
    assert "Expires" not in cookie and "Max-Age" not in cookie


def test_cookie_is_secure_over_https(app, client):
    make_owner(app)
    # As the TLS-terminating proxy tells it; Flask-WTF checks the Referer on HTTPS.
    https = {"X-Forwarded-Proto": "https", "Referer": "https://localhost/owner/login"}
    page = client.get(LOGIN, headers=https).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(LOGIN, data={"email": EMAIL, "password": PASSWORD, "csrf_token": token}, headers=https)
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]


def test_an_idle_session_expires(app, client):
    logged_in(app, client)
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(seconds=1)
    assert client.get("/owner/").status_code == 200
    time.sleep(2.2)
    assert client.get("/owner/").status_code == 302


def test_each_request_keeps_the_session_alive(app, client):
    logged_in(app, client)
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(seconds=3)
    for _ in range(3):
        time.sleep(1.2)
        assert client.get("/owner/").status_code == 200


def test_a_session_ends_some_hours_after_login_whatever_happens(app, client):
    logged_in(app, client)
    app.config["OWNER_SESSION_MAX_AGE"] = dt.timedelta(seconds=0)
    time.sleep(1.1)
    assert client.get("/owner/").status_code == 302


def test_a_cookie_used_from_another_browser_is_dropped(app, client):
    logged_in(app, client)
    assert client.get("/owner/", headers={"User-Agent": "SomethingElse/1.0"}).status_code == 302


def test_a_new_password_logs_every_session_out(app, client, runner):
    logged_in(app, client)
    result = runner.invoke(args=["owner", "set-password", EMAIL], input="a-brand-new-password\n")
    assert result.exit_code == 0, result.output
    assert client.get("/owner/").status_code == 302
    assert login(client, password="a-brand-new-password").status_code == 302


def test_public_pages_never_get_a_session_cookie(app, client):
    logged_in(app, client)
    fresh = app.test_client()
    for path in ("/", "/articles/back-pain-relief-walking", "/healthz"):
        assert "Set-Cookie" not in fresh.get(path).headers


# --- CSRF on the owner's forms ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/owner/logout", "/owner/erase", "/owner/erase/confirm"])
def test_owner_posts_without_a_csrf_token_are_400_and_change_nothing(app, client, path):
    logged_in(app, client)
    add_private_data(app)
    response = client.post(path, data={"email": SECRET_EMAIL})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert client.get("/owner/").status_code == 200  # still logged in
    with app.app_context():
        assert db.session.execute(db.select(Subscriber.email)).scalars().all() == [SECRET_EMAIL]


def test_a_cross_site_post_is_refused_even_with_a_token(app, client):
    logged_in(app, client)
    add_private_data(app)
    token = csrf_token(client, "/owner/")
    response = client.post(
        "/owner/erase/confirm",
        data={"csrf_token": token, "email": SECRET_EMAIL},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403


# --- owner accounts on the command line -------------------------------------------------------


def test_owner_create_reads_the_password_from_stdin_and_hashes_it(app, runner):
    result = runner.invoke(args=["owner", "create", "Steven@Example.COM"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "steven@example.com" in result.output
    with app.app_context():
        owner = db.session.execute(db.select(Owner)).scalar_one()
        assert owner.email == "steven@example.com"
        assert owner.password_hash.startswith("scrypt:") and PASSWORD not in owner.password_hash
        assert check_password_hash(owner.password_hash, PASSWORD)


@pytest.mark.parametrize(
    "args,stdin,message",
    [
        (["owner", "create", EMAIL], "short\n", "at least 12 characters"),
        (["owner", "create", EMAIL], "", "No password"),
        (["owner", "create", "not-an-email"], PASSWORD + "\n", "not an email address"),
        (["owner", "set-password", "nobody@example.com"], PASSWORD + "\n", "no owner account"),
        (["owner", "delete", "nobody@example.com"], "", "no owner account"),
    ],
)
def test_owner_commands_refuse_bad_input_clearly(app, runner, args, stdin, message):
    result = runner.invoke(args=args, input=stdin)
    assert result.exit_code == 1
    assert message in result.output
    with app.app_context():
        assert db.session.execute(db.select(Owner)).scalars().all() == []


def test_owner_create_twice_is_refused(app, runner):
    make_owner(app)
    result = runner.invoke(args=["owner", "create", EMAIL.upper()], input="another-long-password\n")
    assert result.exit_code == 1 and "already an owner account" in result.output


def test_owner_delete_and_list(app, runner, client):
    make_owner(app)
    make_owner(app, "helper@example.com")
    listed = runner.invoke(args=["owner", "list"]).output
    assert "helper@example.com\tlast login never" in listed and EMAIL in listed
    assert runner.invoke(args=["owner", "delete", "helper@example.com"]).exit_code == 0
    assert "helper@example.com" not in runner.invoke(args=["owner", "list"]).output
    assert login(client, email="helper@example.com").status_code == 200  # wrong email now


# --- the dashboard ---------------------------------------------------------------------------


def chart_table(page: str) -> dict[str, tuple[int, int]]:
    """{day: (signups, confirmations)} from the table under the chart."""
    table = re.search(r'<table class="owner-table" id="chart-data">.*?</table>', page, re.S).group(0)
    rows = re.findall(r'<time datetime="([\d-]+)">[^<]*</time></th><td>(\d+)</td><td>(\d+)</td>', table)
    return {day: (int(s), int(c)) for day, s, c in rows}


def chart_bars(page: str, kind: str) -> dict[str, int]:
    """{day: n} from the titles of the SVG's bars of one kind."""
    group = re.search(rf'<g class="chart-{kind}">(.*?)</g>', page, re.S).group(1)
    return {day: int(n) for day, n in re.findall(r"<title>([\d-]+): (\d+) \w+</title>", group)}


def count(page: str, status: str) -> int:
    return int(re.search(rf'<dd id="count-{status}">(\d+)</dd>', page).group(1))


def test_dashboard_with_no_subscribers(app, client):
    logged_in(app, client)
    page = client.get("/owner/").get_data(as_text=True)
    assert [count(page, s) for s in ("subscribed", "pending", "unsubscribed", "total")] == [0, 0, 0, 0]
    table = chart_table(page)
    assert len(table) == 90 and set(table.values()) == {(0, 0)}
    assert chart_bars(page, "signups") == {} and chart_bars(page, "confirmations") == {}
    assert "0 signups and 0 confirmations in the last 90 days" in page
    assert "style=" not in page and "<script>" not in page


def bulk_subscribers(app, n: int, seed: int = 5) -> None:
    """Insert n subscribers with opt-ins spread over the last 120 days."""
    rng = random.Random(seed)
    now = utcnow()
    rows = []
    for i in range(n):
        optin = now - dt.timedelta(seconds=rng.randrange(120 * 86400))
        status = rng.choice(["pending", "subscribed", "subscribed", "unsubscribed"])
        confirm = optin + dt.timedelta(minutes=rng.randrange(3 * 1440)) if status != "pending" else None
        if confirm and confirm > now:
            confirm = now
        rows.append(
            {
                "email": f"person{i}@example.com",
                "email_key": f"person{i}@example.com",
                "link_key": f"link{i:08d}",
                "status": status,
                "optin_time": optin,
                "confirm_time": confirm,
                "unsub_time": confirm + dt.timedelta(seconds=1) if status == "unsubscribed" else None,
            }
        )
    with app.app_context():
        db.session.execute(db.insert(Subscriber), rows)
        db.session.commit()
        db.session.remove()


def test_dashboard_with_ten_thousand_subscribers_matches_the_database(app, client):
    bulk_subscribers(app, 10_000)
    logged_in(app, client)
    started = time.perf_counter()
    response = client.get("/owner/")
    assert time.perf_counter() - started < 5
    page = response.get_data(as_text=True)
    assert response.status_code == 200

    with app.app_context():
        columns = (Subscriber.status, Subscriber.optin_time, Subscriber.confirm_time)
        subscribers = db.session.execute(db.select(*columns)).all()
    today = utcnow().date()
    days = [(today - dt.timedelta(days=i)).isoformat() for i in range(90)]
    signups = {d: 0 for d in days}
    confirmations = {d: 0 for d in days}
    for _, optin, confirm in subscribers:
        if optin.date().isoformat() in signups:
            signups[optin.date().isoformat()] += 1
        if confirm and confirm.date().isoformat() in confirmations:
            confirmations[confirm.date().isoformat()] += 1

    for status in ("subscribed", "pending", "unsubscribed"):
        assert count(page, status) == sum(1 for s, _, _ in subscribers if s == status)
    assert count(page, "total") == 10_000
    assert chart_table(page) == {d: (signups[d], confirmations[d]) for d in days}
    assert chart_bars(page, "signups") == {d: n for d, n in signups.items() if n}
    assert chart_bars(page, "confirmations") == {d: n for d, n in confirmations.items() if n}
    assert f"{sum(signups.values())} signups and {sum(confirmations.values())} confirmations" in page


def test_the_tallest_bar_fits_the_chart(app, client):
    bulk_subscribers(app, 300)
    logged_in(app, client)
    page = client.get("/owner/").get_data(as_text=True)
    heights = [float(h) for h in re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)">', page)]
    assert heights and max(heights) <= 200 and min(heights) > 0


def test_dashboard_shows_each_article_and_the_latest_comments_newest_first(app, client):
    logged_in(app, client)
    now = utcnow()
    with app.app_context():
        for i in range(25):
            db.session.add(
                Vote(
                    article="back-pain-relief-walking",
                    vote_id=f"reader-{i:04d}-xxxxxxxx",
                    vote="yes" if i % 4 else "no",
                    comment=f"Comment number {i}" if i < 23 else None,
                    created_at=now - dt.timedelta(hours=100 - i),
                    updated_at=now - dt.timedelta(hours=100 - i),
                )
            )
        db.session.commit()
    page = client.get("/owner/").get_data(as_text=True)
    totals = text_of(re.search(r'<table class="owner-table" id="article-totals">.*?</table>', page, re.S).group(0))
    assert "Back Pain Relief at Your Feet" in totals
    assert "25 18 7 72.0% 23" in totals  # votes, yes, no, helpful, comments
    shown = re.findall(r"Comment number (\d+)", page)
    assert shown == [str(i) for i in range(22, 2, -1)]  # 20 a page, newest first
    assert 'rel="next" href="/owner/?page=2#comments-heading"' in page
    second = client.get("/owner/?page=2").get_data(as_text=True)
    assert re.findall(r"Comment number (\d+)", second) == ["2", "1", "0"]
    assert "Page 2 of 2" in text_of(second)
    only = client.get("/owner/?article=nothing-here").get_data(as_text=True)
    assert "Comment number" not in only and "No comments yet." in text_of(only)


def test_dashboard_links_to_every_export(app, client):
    logged_in(app, client)
    page = client.get("/owner/").get_data(as_text=True)
    for href in (
        "/owner/subscribers.csv?status=subscribed",
        "/owner/subscribers.csv?status=unsubscribed",
        "/owner/subscribers.csv?status=pending",
        "/owner/subscribers.csv?status=all",
        "/owner/feedback.csv",
    ):
        assert f'href="{href}"' in page


def test_a_bad_page_number_is_400(app, client):
    logged_in(app, client)
    assert client.get("/owner/?page=0").status_code == 400


# --- erasure ---------------------------------------------------------------------------------


def test_erasure_asks_to_confirm_then_erases_the_person(app, client):
    logged_in(app, client)
    add_private_data(app)
    token = csrf_token(client, "/owner/")
    step_one = client.post("/owner/erase", data={"csrf_token": token, "email": "Private.Person@Example.org"})
    assert step_one.status_code == 200
    text = text_of(step_one.get_data(as_text=True))
    assert "Erase Private.Person@Example.org?" in text and "cannot be undone" in text
    with app.app_context():  # nothing happened yet
        assert db.session.execute(db.select(Subscriber.email)).scalars().all() == [SECRET_EMAIL]

    confirm_token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', step_one.get_data(as_text=True))
    response = client.post(
        "/owner/erase/confirm", data={"csrf_token": confirm_token.group(1), "email": "Private.Person@Example.org"}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/owner/"
    assert "The subscriber and their consent record are erased." in client.get("/owner/").get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(db.select(Subscriber)).scalars().all() == []


def test_erasing_someone_not_on_the_list_says_so(app, client):
    logged_in(app, client)
    token = csrf_token(client, "/owner/")
    step_one = client.post("/owner/erase", data={"csrf_token": token, "email": "nobody@example.com"})
    assert "Nobody with this email is on the list" in step_one.get_data(as_text=True)
    assert "Erase for good" not in step_one.get_data(as_text=True)
    response = client.post("/owner/erase/confirm", data={"csrf_token": token, "email": "nobody@example.com"})
    assert response.status_code == 302
    assert "nothing was erased" in client.get("/owner/").get_data(as_text=True)
