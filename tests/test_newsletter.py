"""Newsletter: signup, double opt-in over real SMTP, one-click unsubscribe, consent records, abuse.

Every test runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.
"""

import datetime as dt
import email
import html as htmllib
import json
import re
import socket
import threading
import time
from email import policy
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from itsdangerous import TimestampSigner, URLSafeSerializer

from tests.servers import free_port
from webapp.extensions import db
from webapp.idempotency import utcnow
from webapp.newsletter import links as newsletter_links
from webapp.newsletter import service
from webapp.newsletter.models import Subscriber

ARTICLE = "/articles/back-pain-relief-walking"
CHECK_INBOX = "Check your inbox to confirm"
GENEROUS = "1000 per minute"


@pytest.fixture
def app_config(request):
    """Generous rate limits (tests that need tight ones set them), and the mail server a test asks for."""
    config = {"NEWSLETTER_RATE_LIMIT_PER_IP": GENEROUS, "NEWSLETTER_RATE_LIMIT_PER_ADDRESS": GENEROUS}
    if "smtp_server" in request.fixturenames:
        smtp = request.getfixturevalue("smtp_server")
        config.update(MAIL_SERVER=smtp.hostname, MAIL_PORT=smtp.port)
    for name in ("down_smtp_port", "silent_smtp_port"):
        if name in request.fixturenames:
            config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=request.getfixturevalue(name), MAIL_TIMEOUT=1)
    return config


@pytest.fixture
def down_smtp_port():
    """A port where no mail server listens (yet)."""
    return free_port()


@pytest.fixture
def silent_smtp_port():
    """A port that accepts connections and never says a word: a mail server that hangs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


class Inbox:
    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def __init__(self):
        self.messages = []


# --- helpers -----------------------------------------------------------------------------------


def sign_up(client, address, first_name="", source=ARTICLE, as_json=False, headers=None, **fields):
    data = {"email": address, "first_name": first_name, "source": source, "website": "", **fields}
    sent_headers = {"Accept": "application/json"} if as_json else {}
    sent_headers.update(headers or {})
    return client.post("/newsletter", data=data, headers=sent_headers)


def rows(app) -> list[dict]:
    """Every subscriber row, as plain values."""
    with app.app_context():
        found = db.session.execute(db.select(Subscriber).order_by(Subscriber.id)).scalars()
        return [{c.name: getattr(s, c.name) for c in Subscriber.__table__.columns} for s in found]


def row(app, key: str) -> dict | None:
    return next((r for r in rows(app) if r["email_key"] == key), None)


def outbox(app) -> list:
    folder = Path(app.config["OUTBOX_DIR"])
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(folder.glob("*.eml"))]


def mail_to(messages, address: str) -> list:
    return [m for m in messages if m["To"].lower() == address.lower()]


def links(message) -> tuple[str, str]:
    """The confirm link from the text part, and the List-Unsubscribe URL."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    confirm = re.search(r"https?://\S+/newsletter/confirm/\S+", text).group()
    unsubscribe = message["List-Unsubscribe"].strip()
    assert unsubscribe.startswith("<") and unsubscribe.endswith(">")
    return confirm, unsubscribe[1:-1]


def shown(response) -> str:
    """The page's HTML with entities decoded, to look for what a reader sees."""
    return htmllib.unescape(response.text)


def path(url: str) -> str:
    return urlsplit(url).path


def one_click(app, url: str):
    """POST as a mail provider does for RFC 8058: no cookie, no token, no Origin."""
    return app.test_client(use_cookies=False).post(
        path(url), data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )


class InputValues(HTMLParser):
    def __init__(self):
        super().__init__()
        self.values = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and "id" in attrs:
            self.values[attrs["id"]] = attrs.get("value")


def input_values(html: str) -> dict:
    parser = InputValues()
    parser.feed(html)
    return parser.values


def subscribe_and_confirm(app, client, address: str) -> tuple[str, str]:
    assert sign_up(client, address).status_code == 303
    confirm, unsubscribe = links(mail_to(outbox(app), address)[-1])
    assert client.post(path(confirm)).status_code == 303
    return confirm, unsubscribe


def expired_confirm_token(app, key: str) -> str:
    """A token made exactly as the service makes it, eight days ago."""

    class EightDaysAgo(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - 8 * 86400

    with app.app_context():
        subscriber = db.session.execute(db.select(Subscriber).filter_by(email_key=key)).scalar_one()
        serializer = newsletter_links.confirm_serializer()
        serializer.signer = EightDaysAgo
        return serializer.dumps(newsletter_links.confirm_payload(subscriber))


# --- the whole flow over real SMTP -----------------------------------------------------------


def test_whole_flow_over_real_smtp(app, client, smtp_server):
    answer = sign_up(client, "Ann.Walker+news@Example.COM", first_name="Ann")
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"{ARTICLE}?newsletter=check-inbox#newsletter"
    assert CHECK_INBOX in client.get(answer.headers["Location"]).text

    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["To"] == "Ann.Walker+news@example.com"
    assert message["From"] == "Steven Fitspot <newsletter@localhost>"
    assert message["Subject"] == app.config["NEWSLETTER_SUBJECT"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    confirm, unsubscribe = links(message)
    assert confirm.startswith("http://localhost/newsletter/confirm/")
    assert unsubscribe.startswith("http://localhost/newsletter/unsubscribe/")
    html = message.get_body(preferencelist=("html",)).get_content()
    assert confirm in html and "Hello Ann" in html
    assert "ann" not in path(confirm).lower() and "example" not in path(unsubscribe).lower()  # no address in URLs

    stored = row(app, "ann.walker+news@example.com")
    assert stored["status"] == "pending" and stored["confirm_time"] is None
    assert stored["email"] == "Ann.Walker+news@example.com"
    assert stored["first_name"] == "Ann" and stored["source"] == ARTICLE
    assert stored["optin_ip"] == "127.0.0.0"  # truncated to the /24 by default
    assert stored["consent_version"] == app.config["NEWSLETTER_CONSENT_VERSION"]
    assert stored["mail_owed"] is False

    # A link scanner GETs every link: that shows a button and confirms nothing.
    page = client.get(path(confirm))
    assert page.status_code == 200
    assert re.search(r"<button[^>]*>Confirm subscription</button>", page.text)
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert row(app, "ann.walker+news@example.com")["status"] == "pending"

    confirmed = client.post(path(confirm))
    assert confirmed.status_code == 303
    assert "You're subscribed" in shown(client.get(confirmed.headers["Location"]))
    stored = row(app, "ann.walker+news@example.com")
    assert stored["status"] == "subscribed"
    assert stored["confirm_time"] >= stored["optin_time"]
    assert stored["confirm_ip"] == "127.0.0.0"

    assert client.post(path(confirm)).status_code == 303  # confirming twice is harmless
    assert row(app, "ann.walker+news@example.com")["confirm_time"] == stored["confirm_time"]

    unsubscribed = one_click(app, unsubscribe)
    assert unsubscribed.status_code == 200 and "Location" not in unsubscribed.headers
    assert "You're unsubscribed" in shown(unsubscribed)
    stored = row(app, "ann.walker+news@example.com")
    assert stored["status"] == "unsubscribed" and stored["unsub_time"] is not None
    assert len(smtp_server.messages) == 1  # nothing else was sent
    assert "Set-Cookie" not in unsubscribed.headers


def test_mail_server_down_keeps_the_signup_and_retry_mail_sends_it_later(app, client, runner, down_smtp_port, caplog):
    answer = sign_up(client, "Bo@Example.com")
    assert answer.status_code == 303  # the reader sees the normal answer
    assert CHECK_INBOX in client.get(answer.headers["Location"]).text
    stored = row(app, "bo@example.com")
    assert stored["status"] == "pending" and stored["mail_owed"] is True
    assert "not sent (ConnectionRefusedError" in caplog.text

    inbox = Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=down_smtp_port)
    server.start()  # the mail server is back
    try:
        result = runner.invoke(args=["newsletter", "retry-mail", "--grace", "0"])
        assert result.exit_code == 0, result.output
        assert "Sent 1" in result.output
        assert len(inbox.messages) == 1 and inbox.messages[0]["To"] == "Bo@example.com"
        assert row(app, "bo@example.com")["mail_owed"] is False
        again = runner.invoke(args=["newsletter", "retry-mail", "--grace", "0"])
        assert "Sent 0" in again.output and len(inbox.messages) == 1  # nothing owed any more
    finally:
        server.stop()
    confirm, _ = links(inbox.messages[0])
    assert client.post(path(confirm)).status_code == 303
    assert row(app, "bo@example.com")["status"] == "subscribed"


class Refusing(Inbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return "550 5.1.1 No such mailbox here"


def test_an_address_the_server_refuses_for_good_is_not_retried(app, client, runner, down_smtp_port, caplog):
    server = Controller(Refusing(), hostname="127.0.0.1", port=down_smtp_port)
    server.start()
    try:
        answer = sign_up(client, "nobody@example.com")
        assert answer.status_code == 303 and answer.headers["Location"].endswith("check-inbox#newsletter")
        stored = row(app, "nobody@example.com")
        assert stored["status"] == "pending" and stored["mail_owed"] is False
        assert "refused the address of subscriber" in caplog.text and "(550); giving up" in caplog.text
        assert "nobody@" not in caplog.text  # no address in the logs
        result = runner.invoke(args=["newsletter", "retry-mail", "--grace", "0"])
        assert result.exit_code == 0 and "Sent 0" in result.output
    finally:
        server.stop()


def test_retry_mail_reports_failure_and_leaves_recent_reservations_alone(app, client, runner, down_smtp_port):
    sign_up(client, "cy@example.com")
    fresh = runner.invoke(args=["newsletter", "retry-mail"])  # reserved a moment ago: a worker may be sending
    assert fresh.exit_code == 0 and "Sent 0" in fresh.output
    failed = runner.invoke(args=["newsletter", "retry-mail", "--grace", "0"])
    assert failed.exit_code == 1 and "1 failed" in failed.output
    assert row(app, "cy@example.com")["mail_owed"] is True


def test_a_hanging_mail_server_times_out_and_the_reader_still_gets_an_answer(app, client, silent_smtp_port):
    started = time.monotonic()
    answer = sign_up(client, "dee@example.com", as_json=True)
    assert time.monotonic() - started < 5
    assert answer.status_code == 200 and answer.get_json()["ok"] is True
    assert row(app, "dee@example.com")["mail_owed"] is True


def test_without_a_mail_server_mail_goes_to_the_outbox_and_the_link_to_the_log(app, client, caplog):
    assert app.config["MAIL_BACKEND"] == "webapp.newsletter.mailer"
    sign_up(client, "eve@example.com")
    [message] = outbox(app)
    confirm, _ = links(message)
    assert "confirm link for subscriber" in caplog.text and confirm in caplog.text
    assert client.post(path(confirm)).status_code == 303
    assert row(app, "eve@example.com")["status"] == "subscribed"


# --- no enumeration ----------------------------------------------------------------------------


def test_every_kind_of_address_gets_byte_identical_answers(app, client):
    sign_up(client, "pending@example.com")
    subscribe_and_confirm(app, client, "subscribed@example.com")
    _, unsubscribe = subscribe_and_confirm(app, client, "unsubscribed@example.com")
    one_click(app, unsubscribe)
    before = {m["To"]: 0 for m in outbox(app)}
    for m in outbox(app):
        before[m["To"]] += 1

    answers = {}
    for kind in ("new", "pending", "subscribed", "unsubscribed"):
        address = f"{kind.upper()}@Example.com"  # another capitalisation: still the same person
        plain = sign_up(client, address)
        fetched = sign_up(client, address, as_json=True, headers={"Idempotency-Key": f"key-{kind}-0001"})
        answers[kind] = (
            plain.status_code,
            plain.headers["Location"],
            plain.get_data(),
            fetched.status_code,
            fetched.get_data(),
        )
    assert len(set(answers.values())) == 1, answers
    assert answers["new"][0] == 303 and answers["new"][3] == 200
    assert CHECK_INBOX in json.loads(answers["new"][4])["html"]

    after = {}
    for m in outbox(app):
        after[m["To"].lower()] = after.get(m["To"].lower(), 0) + 1
    assert after["new@example.com"] == 1  # one mail, though it was sent twice
    assert after["pending@example.com"] == 1  # asked again within 10 minutes: no second mail yet
    assert after["subscribed@example.com"] == 1  # only its original confirmation
    assert after["unsubscribed@example.com"] == 2  # a new opt-in needs a new confirmation
    assert row(app, "unsubscribed@example.com")["status"] == "pending"
    assert row(app, "subscribed@example.com")["status"] == "subscribed"


def test_a_pending_address_gets_its_link_again_after_ten_minutes(app, client):
    sign_up(client, "fay@example.com")
    sign_up(client, "fay@example.com")
    assert len(outbox(app)) == 1
    with app.app_context():
        db.session.execute(db.update(Subscriber).values(last_mailed_at=utcnow() - dt.timedelta(minutes=11)))
        db.session.commit()
    sign_up(client, "Fay@example.com")
    first, second = outbox(app)
    assert client.post(path(links(first)[0])).status_code == 303
    assert client.post(path(links(second)[0])).status_code == 303
    assert row(app, "fay@example.com")["status"] == "subscribed"


# --- addresses ---------------------------------------------------------------------------------


def test_addresses_are_unique_whatever_their_case_and_keep_plus_tags(app, client):
    for address in ("Ann@Example.com", "ann@example.com", "ANN@EXAMPLE.COM", " ann@example.COM "):
        assert sign_up(client, address).status_code == 303
    assert sign_up(client, "ann+fitness@example.com").status_code == 303
    assert [(r["email"], r["email_key"]) for r in rows(app)] == [
        ("Ann@example.com", "ann@example.com"),
        ("ann+fitness@example.com", "ann+fitness@example.com"),
    ]


def test_international_domains_are_normalised_to_one_person(app, client):
    assert sign_up(client, "jo@BÜCHER.de").status_code == 303
    assert sign_up(client, "jo@xn--bcher-kva.de").status_code == 303
    assert [(r["email"], r["email_key"]) for r in rows(app)] == [("jo@bücher.de", "jo@bücher.de")]
    [message] = outbox(app)
    assert "xn--bcher-kva.de" in message["To"]  # sent in the ASCII form every server understands


INVALID = [
    ({"email": ""}, "Enter your email address."),
    ({"email": "   "}, "Enter your email address."),
    ({"email": "ann"}, "That doesn't look like an email address"),
    ({"email": "ann@example"}, "That doesn't look like an email address"),
    ({"email": "ann@@example.com"}, "That doesn't look like an email address"),
    ({"email": "a" * 250 + "@example.com"}, "That's too long for an email address"),
    ({"email": "ann@example.com\r\nBcc: all@example.com"}, "can't contain line breaks or control characters"),
    ({"email": "ann\x00@example.com"}, "can't contain line breaks or control characters"),
    ({"email": "ann@example.com\u202e"}, "can't contain line breaks or control characters"),
    ({"email": "ann@example.com", "first_name": "x" * 101}, "under 100 characters"),
    ({"email": "ann@example.com", "first_name": "Ann\nBcc: x"}, "A name can't contain line breaks"),
]


@pytest.mark.parametrize(("fields", "message"), INVALID)
def test_invalid_input_is_explained_kept_in_the_form_and_stores_nothing(app, client, fields, message):
    answer = sign_up(client, **{"address": fields["email"], "first_name": fields.get("first_name", "")})
    assert answer.status_code == 400
    html = shown(answer)
    assert message in html
    values = input_values(answer.text)
    assert values["newsletter-email"] == fields["email"]
    assert values["newsletter-first-name"] == fields.get("first_name", "")
    assert values["newsletter-source"] == ARTICLE

    fetched = sign_up(client, fields["email"], first_name=fields.get("first_name", ""), as_json=True)
    assert fetched.status_code == 400
    data = fetched.get_json()
    assert data["ok"] is False and "data-widget" in data["html"] and "data-focus" in data["html"]
    assert message in htmllib.unescape(data["html"])
    assert rows(app) == [] and outbox(app) == []


def test_deliverability_check_can_be_switched_on(app, client):
    app.config["NEWSLETTER_CHECK_DELIVERABILITY"] = True
    answer = sign_up(client, "ann@no-such-domain.invalid")
    assert answer.status_code == 400 and rows(app) == []


# --- spam, forgery, replays, limits -------------------------------------------------------------


def test_the_honeypot_gets_a_fake_success_and_nothing_is_stored(app, client):
    robot = sign_up(client, "robot@example.com", website="http://spam.example")
    human = sign_up(client, "human@example.com")
    assert (robot.status_code, robot.headers["Location"]) == (human.status_code, human.headers["Location"])
    assert [r["email_key"] for r in rows(app)] == ["human@example.com"]
    assert len(outbox(app)) == 1


def test_a_replayed_signup_changes_nothing_and_sends_nothing(app, client):
    first = sign_up(client, "gil@example.com", as_json=True, headers={"Idempotency-Key": "offline-queue-0001"})
    replay = sign_up(client, "gil@example.com", as_json=True, headers={"Idempotency-Key": "offline-queue-0001"})
    other = sign_up(client, "hal@example.com", idempotency_key="offline-queue-0001")  # the same key, as a field
    assert first.get_data() == replay.get_data() and first.status_code == replay.status_code == 200
    assert other.status_code == 303
    assert [r["email_key"] for r in rows(app)] == ["gil@example.com"]
    assert len(outbox(app)) == 1
    bad = sign_up(client, "ivy@example.com", headers={"Idempotency-Key": "x"})
    assert bad.status_code == 400 and rows(app)[-1]["email_key"] == "gil@example.com"


@pytest.mark.parametrize(
    "headers", [{"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}, {"Origin": "https://evil.example"}]
)
def test_cross_site_posts_are_refused_and_change_nothing(app, client, headers):
    assert sign_up(client, "jay@example.com", headers=headers).status_code == 403
    assert rows(app) == [] and outbox(app) == []
    sign_up(client, "kim@example.com")
    confirm, unsubscribe = links(outbox(app)[0])
    before = rows(app)
    assert client.post(path(confirm), headers=headers).status_code == 403
    assert client.post(path(unsubscribe), headers=headers).status_code == 403
    assert rows(app) == before


def test_too_many_signups_for_one_address_get_a_readable_429(app, client):
    app.config["NEWSLETTER_RATE_LIMIT_PER_ADDRESS"] = "2 per hour"
    for address in ("lu@example.com", "LU@example.com"):
        assert sign_up(client, address).status_code == 303
    third = client.post("/newsletter", data={"email": "Lu@Example.com"}, environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert third.status_code == 429
    assert "Please wait a few minutes and try again" in shown(third)
    fetched = client.post("/newsletter", data={"email": "lu@example.com"}, headers={"Accept": "application/json"})
    assert fetched.status_code == 429 and "try again" in fetched.get_json()["message"]
    assert sign_up(client, "someone-else@example.com").status_code == 303
    assert len(rows(app)) == 2


def test_too_many_signups_from_one_ip_get_a_429(app, client):
    app.config["NEWSLETTER_RATE_LIMIT_PER_IP"] = "3 per minute"
    codes = [sign_up(client, f"ip{n}@example.com").status_code for n in range(4)]
    assert codes == [303, 303, 303, 429]
    assert len(rows(app)) == 3


# --- tokens --------------------------------------------------------------------------------------


def test_expired_confirm_links_explain_themselves_and_change_nothing(app, client):
    sign_up(client, "max@example.com")
    token = expired_confirm_token(app, "max@example.com")
    before = rows(app)
    for answer in (client.get(f"/newsletter/confirm/{token}"), client.post(f"/newsletter/confirm/{token}")):
        assert answer.status_code == 400
        assert "This confirmation link has expired" in shown(answer)
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert rows(app) == before


def tampered(url: str) -> str:
    token = path(url).rsplit("/", 1)[1]
    middle = len(token) // 2
    swapped = "A" if token[middle] != "A" else "B"
    return path(url).rsplit("/", 1)[0] + "/" + token[:middle] + swapped + token[middle + 1 :]


def test_tampered_and_foreign_tokens_get_a_clear_page_and_change_nothing(app, client):
    sign_up(client, "ned@example.com")
    confirm, unsubscribe = links(outbox(app)[0])
    confirm_token = path(confirm).rsplit("/", 1)[1]
    unsubscribe_token = path(unsubscribe).rsplit("/", 1)[1]
    with app.app_context():
        other_key = URLSafeSerializer("another-site's-secret-key-0123456789", salt=newsletter_links.CONFIRM_SALT)
        foreign_signed = other_key.dumps(["whatever", "2024-01-01T00:00:00"])
    bad = [
        (tampered(confirm), "confirmation link isn't valid"),
        (tampered(unsubscribe), "unsubscribe link isn't valid"),
        (f"/newsletter/confirm/{unsubscribe_token}", "confirmation link isn't valid"),  # wrong purpose
        (f"/newsletter/unsubscribe/{confirm_token}", "unsubscribe link isn't valid"),
        (f"/newsletter/confirm/{foreign_signed}", "confirmation link isn't valid"),
        ("/newsletter/confirm/" + "x" * 400, "confirmation link isn't valid"),
    ]
    before = rows(app)
    for url, message in bad:
        for method in (client.get, client.post):
            answer = method(url)
            assert answer.status_code == 400, url
            assert message in shown(answer), url
        assert one_click(app, url).status_code == 400
    assert rows(app) == before
    fetched = client.post(bad[0][0], headers={"Accept": "application/json"})
    assert fetched.status_code == 400 and fetched.get_json()["ok"] is False


def test_old_links_die_with_erasure_and_with_a_new_opt_in(app, client, runner):
    confirm, unsubscribe = links_for(app, client, "ola@example.com")
    assert runner.invoke(args=["subscribers", "delete", "OLA@example.com"]).exit_code == 0
    sign_up(client, "ola@example.com")  # the same person, signing up again after erasure
    assert client.post(path(confirm)).status_code == 400
    assert one_click(app, unsubscribe).status_code == 400
    assert row(app, "ola@example.com")["status"] == "pending"

    new_confirm, new_unsubscribe = links(mail_to(outbox(app), "ola@example.com")[-1])
    assert client.post(path(new_confirm)).status_code == 303
    assert one_click(app, new_unsubscribe).status_code == 200
    sign_up(client, "ola@example.com")  # unsubscribed, then back: a new opt-in
    assert client.post(path(new_confirm)).status_code == 400  # the older opt-in's link is dead
    assert row(app, "ola@example.com")["status"] == "pending"
    newest_confirm, newest_unsubscribe = links(mail_to(outbox(app), "ola@example.com")[-1])
    assert newest_unsubscribe == new_unsubscribe  # one unsubscribe link per person, valid until used
    assert client.post(path(newest_confirm)).status_code == 303
    assert row(app, "ola@example.com")["status"] == "subscribed"


def links_for(app, client, address):
    sign_up(client, address)
    return links(mail_to(outbox(app), address)[-1])


def test_unsubscribe_page_has_one_button_and_only_a_post_unsubscribes(app, client):
    _, unsubscribe = subscribe_and_confirm(app, client, "pat@example.com")
    page = client.get(path(unsubscribe))
    main = page.text.split("<main", 1)[1].split("</main>", 1)[0]
    assert page.status_code == 200 and main.count("<button") == 1 and ">Unsubscribe</button>" in main
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    assert row(app, "pat@example.com")["status"] == "subscribed"
    pressed = client.post(path(unsubscribe))
    assert pressed.status_code == 303 and pressed.headers["Location"] == "/newsletter?newsletter=unsubscribed"
    assert "You're unsubscribed" in shown(client.get(pressed.headers["Location"]))
    first_time = row(app, "pat@example.com")["unsub_time"]
    assert one_click(app, unsubscribe).status_code == 200  # twice is harmless
    assert row(app, "pat@example.com")["unsub_time"] == first_time


def test_unsubscribe_url_and_erase_subscriber_for_the_owner_export(app, client):
    sign_up(client, "Quinn@Example.com")
    sign_up(client, "rae@example.com")
    app.config["SITE_URL"] = "https://fitspot.example"
    with app.app_context():  # no request: as the CLI export calls it
        quinn, rae = db.session.execute(db.select(Subscriber).order_by(Subscriber.id)).scalars()
        url = service.unsubscribe_url(quinn)
        assert url.startswith("https://fitspot.example/newsletter/unsubscribe/")
        assert service.unsubscribe_url(quinn) == url != service.unsubscribe_url(rae)
    assert one_click(app, url).status_code == 200
    assert row(app, "quinn@example.com")["status"] == "unsubscribed"
    with app.app_context():
        assert service.erase_subscriber("QUINN@example.COM") is True
        assert service.erase_subscriber("nobody@example.com") is False
        db.session.commit()
    assert [r["email_key"] for r in rows(app)] == ["rae@example.com"]


# --- consent record ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "remote", "stored"),
    [
        ("truncated", "203.0.113.57", "203.0.113.0"),
        ("truncated", "2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd::"),
        ("truncated", "::ffff:203.0.113.57", "203.0.113.0"),
        ("full", "203.0.113.57", "203.0.113.57"),
        ("full", "2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd:12:1:2:3:4"),
        ("none", "203.0.113.57", None),
    ],
)
def test_ip_addresses_are_kept_as_configured(app, client, mode, remote, stored):
    app.config["NEWSLETTER_IP_STORAGE"] = mode
    environ = {"REMOTE_ADDR": remote}
    client.post("/newsletter", data={"email": "sam@example.com", "source": ARTICLE}, environ_base=environ)
    confirm, _ = links(outbox(app)[0])
    client.post(path(confirm), environ_base=environ)
    record = row(app, "sam@example.com")
    assert (record["optin_ip"], record["confirm_ip"], record["status"]) == (stored, stored, "subscribed")


def test_unknown_sources_are_not_recorded(app, client):
    sign_up(client, "tia@example.com", source="https://evil.example/phish")
    sign_up(client, "uma@example.com", source="/newsletter")
    sign_up(client, "val@example.com", source="/articles/no-such-article")
    assert [r["source"] for r in rows(app)] == [None, "/newsletter", None]
    assert sign_up(client, "wes@example.com", source="//evil.example").headers["Location"] == (
        "/newsletter?newsletter=check-inbox#newsletter"
    )


def test_subscribers_delete_erases_the_person_whatever_the_case(app, client, runner):
    subscribe_and_confirm(app, client, "Xena@Example.com")
    sign_up(client, "yan@example.com")
    result = runner.invoke(args=["subscribers", "delete", "XENA@EXAMPLE.COM"])
    assert result.exit_code == 0 and "Deleted" in result.output
    assert [r["email_key"] for r in rows(app)] == ["yan@example.com"]
    missing = runner.invoke(args=["subscribers", "delete", "xena@example.com"])
    assert missing.exit_code == 1 and "nothing was deleted" in missing.output


def test_prune_deletes_only_stale_unconfirmed_signups(app, client, runner):
    sign_up(client, "old@example.com")
    sign_up(client, "new@example.com")
    subscribe_and_confirm(app, client, "kept@example.com")
    with app.app_context():
        long_ago = utcnow() - dt.timedelta(days=31)
        db.session.execute(db.update(Subscriber).values(optin_time=long_ago))
        db.session.execute(db.update(Subscriber).filter_by(email_key="new@example.com").values(optin_time=utcnow()))
        db.session.commit()
    result = runner.invoke(args=["newsletter", "prune"])
    assert result.exit_code == 0 and "Deleted 1" in result.output
    assert sorted(r["email_key"] for r in rows(app)) == ["kept@example.com", "new@example.com"]


# --- pages ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [ARTICLE, "/newsletter"])
def test_the_signup_form_is_the_same_bytes_for_everyone(client, url):
    first, second = client.get(url), client.get(url)
    assert first.status_code == 200 and first.get_data() == second.get_data()
    assert "Set-Cookie" not in first.headers and first.headers["ETag"] == second.headers["ETag"]
    html = first.text
    assert '<label for="newsletter-email">Email</label>' in html
    assert '<label for="newsletter-first-name">First name <span class="optional">(optional)</span>' in html
    assert re.search(r"<button[^>]*>Subscribe</button>", html)
    assert "data-widget" in html and "data-enhance" in html
    assert f'name="source" type="hidden" value="{ARTICLE if url == ARTICLE else "/newsletter"}"' in html
    assert 'name="website"' in html and 'tabindex="-1"' in html  # the honeypot, out of the tab order
    assert "Unsubscribe any time" in html and 'href="/privacy"' in html


def test_the_check_inbox_notice_needs_no_cookie(client):
    page = client.get("/newsletter?newsletter=check-inbox")
    assert CHECK_INBOX in page.text and "Set-Cookie" not in page.headers
    assert CHECK_INBOX not in client.get("/newsletter").text


def test_the_privacy_note_says_what_is_stored(client):
    page = client.get("/privacy")
    text = shown(page)
    assert page.status_code == 200 and "Set-Cookie" not in page.headers
    for needle in (
        "email address",
        "first name",
        "when you signed up, and on which page",
        "when you confirmed, and when you unsubscribed",
        "203.0.113.0",
        "random vote id",
        "No IP address, no browser details",
        "deleted after 30 days",
        "newsletter@localhost",
    ):
        assert needle in text, needle
    sitemap = client.get("/sitemap.xml").text
    assert "http://localhost/newsletter</loc>" in sitemap and "http://localhost/privacy</loc>" in sitemap


# --- concurrency against real gunicorn ------------------------------------------------------------


def post_form(url: str, fields: dict) -> tuple[int, str]:
    import http.client
    from urllib.parse import urlencode

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("POST", parts.path, urlencode(fields), {"Content-Type": "application/x-www-form-urlencoded"})
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Location", "")
    finally:
        connection.close()


@pytest.mark.slow
def test_twenty_concurrent_signups_of_one_address_make_one_row_and_one_mail(app, database_url, server_factory):
    server = server_factory(
        database_url=database_url,
        workers=4,
        env={"NEWSLETTER_RATE_LIMIT_PER_IP": GENEROUS, "NEWSLETTER_RATE_LIMIT_PER_ADDRESS": GENEROUS},
    )
    spellings = ["Zoe@Example.com", "zoe@example.com", "ZOE@EXAMPLE.COM", "zoe@EXAMPLE.com"]
    start = threading.Barrier(20)
    answers = []

    def one(n):
        start.wait()
        answers.append(post_form(server.url + "/newsletter", {"email": spellings[n % 4], "source": ARTICLE}))

    threads = [threading.Thread(target=one, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [(303, f"{ARTICLE}?newsletter=check-inbox#newsletter")] * 20
    assert [r["email_key"] for r in rows(app)] == ["zoe@example.com"]
    assert len(list((server.instance / "outbox").glob("*.eml"))) == 1
