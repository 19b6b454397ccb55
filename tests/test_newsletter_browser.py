"""The newsletter in real Chromium against gunicorn and a real SMTP server: sign up from an
article, confirm from the mail, unsubscribe from the mail; with JavaScript and without."""

import email
import re
import time
from email import policy

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.test_newsletter import ARTICLE, CHECK_INBOX, GENEROUS, links, row

pytestmark = pytest.mark.browser


@pytest.fixture
def site(app, database_url, server_factory, smtp_server):
    """gunicorn on this test's database, sending mail to the aiosmtpd server."""
    return server_factory(
        database_url=database_url,
        env={
            "MAIL_SERVER": smtp_server.hostname,
            "MAIL_PORT": str(smtp_server.port),
            "NEWSLETTER_RATE_LIMIT_PER_IP": GENEROUS,
            "NEWSLETTER_RATE_LIMIT_PER_ADDRESS": GENEROUS,
        },
    )


def wait_for_mail(smtp_server, count: int = 1, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while len(smtp_server.messages) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(smtp_server.messages) == count
    return smtp_server.messages[-1]


def confirm_and_unsubscribe(page, app, site, smtp_server, address):
    """Follow the mail's links the way a reader does: open, press the button."""
    confirm, unsubscribe = links(wait_for_mail(smtp_server))
    assert confirm.startswith(site.url + "/newsletter/confirm/")  # absolute, from the request's host
    page.goto(confirm)
    expect(page.get_by_role("heading", name="Confirm your subscription")).to_be_visible()
    assert row(app, address)["status"] == "pending"  # opening the link confirmed nothing
    page.get_by_role("button", name="Confirm subscription").click()
    expect(page.get_by_text("You're subscribed")).to_be_visible()
    stored = row(app, address)
    assert stored["status"] == "subscribed" and stored["confirm_time"] is not None

    page.goto(unsubscribe)
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_text("You're unsubscribed")).to_be_visible()
    stored = row(app, address)
    assert stored["status"] == "unsubscribed" and stored["unsub_time"] is not None
    assert len(smtp_server.messages) == 1


def test_with_javascript_the_answer_replaces_the_form_and_takes_focus(page, app, site, smtp_server):
    page.goto(site.url + ARTICLE)
    form = page.locator("#newsletter")
    form.get_by_label("Email", exact=True).fill("not an address")
    form.get_by_role("button", name="Subscribe").click()
    problem = form.get_by_role("alert")
    expect(problem).to_contain_text("That doesn't look like an email address")
    expect(problem).to_be_focused()
    expect(form.get_by_label("Email", exact=True)).to_have_value("not an address")  # the text is kept

    form.get_by_label("Email", exact=True).fill("Wanda.Walks@Example.com")
    form.get_by_label("First name").fill("Wanda")
    form.get_by_role("button", name="Subscribe").click()
    notice = form.get_by_role("status")
    expect(notice).to_contain_text(CHECK_INBOX)
    expect(notice).to_be_focused()
    assert page.url == site.url + ARTICLE  # no page load
    stored = row(app, "wanda.walks@example.com")
    assert stored["first_name"] == "Wanda" and stored["source"] == ARTICLE

    confirm_and_unsubscribe(page, app, site, smtp_server, "wanda.walks@example.com")


def test_without_javascript_the_form_posts_and_redirects(no_js_page, app, site, smtp_server):
    page = no_js_page
    page.goto(site.url + ARTICLE)
    form = page.locator("#newsletter")
    form.get_by_label("Email", exact=True).fill("ann@example")
    form.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("alert")).to_contain_text("That doesn't look like an email address")
    expect(page.get_by_label("Email", exact=True)).to_have_value("ann@example")  # the text is kept

    page.get_by_label("Email", exact=True).fill("Otto@Example.com")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("status").filter(has_text=CHECK_INBOX)).to_be_visible()
    assert re.fullmatch(re.escape(site.url + ARTICLE) + r"\?newsletter=check-inbox#newsletter", page.url)
    assert row(app, "otto@example.com")["status"] == "pending"

    confirm_and_unsubscribe(page, app, site, smtp_server, "otto@example.com")


def assert_no_axe_violations(page, context="main"):
    results = Axe().run(page, context=context)
    assert results.violations_count == 0, results.generate_report()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_newsletter_page_and_state_passes_axe(browser, live_server, scheme):
    context = browser.new_context(color_scheme=scheme, viewport={"width": 360, "height": 740})
    page = context.new_page()
    try:
        page.goto(live_server.url + ARTICLE)
        box = page.locator("#newsletter")
        assert_no_axe_violations(page, "#newsletter")  # the form
        box.get_by_role("button", name="Subscribe").click()
        expect(box.get_by_role("alert")).to_be_focused()
        assert_no_axe_violations(page, "#newsletter")  # the form with its errors
        box.get_by_label("Email", exact=True).fill(f"axe-{scheme}@example.com")
        box.get_by_role("button", name="Subscribe").click()
        expect(box.get_by_role("status")).to_be_focused()
        assert_no_axe_violations(page, "#newsletter")  # check your inbox

        outbox = live_server.instance / "outbox"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
            f"axe-{scheme}@" in p.read_text(errors="replace") for p in outbox.glob("*.eml")
        ):
            time.sleep(0.05)
        [message] = [
            m
            for m in (email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in outbox.glob("*.eml"))
            if m["To"] == f"axe-{scheme}@example.com"
        ]
        confirm, unsubscribe = links(message)
        for url in (live_server.url + "/newsletter", live_server.url + "/privacy", confirm, unsubscribe):
            page.goto(url)
            assert_no_axe_violations(page)
        page.get_by_role("button", name="Unsubscribe").click()
        expect(page.get_by_text("You're unsubscribed")).to_be_visible()
        assert_no_axe_violations(page)
        page.goto(confirm)  # a link that can no longer be used
        expect(page.get_by_role("heading", name="This link can't be used")).to_be_visible()
        assert_no_axe_violations(page)
    finally:
        context.close()
