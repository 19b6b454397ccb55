"""The owner's area in real Chromium against gunicorn: log in, dashboard, download, erase, log out."""

import datetime as dt
import re
import sqlite3

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

EMAIL = "steven@example.com"
PASSWORD = "walk-every-day-2026"


@pytest.fixture(scope="module")
def site(live_server):
    """The live server with an owner account and a few subscribers."""
    live_server.flask("owner", "create", EMAIL, input=PASSWORD + "\n")
    connection = sqlite3.connect(live_server.instance / "fitspot.sqlite3")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with connection:
        for i in range(40):
            optin = (now - dt.timedelta(days=i % 30, hours=i)).isoformat(sep=" ")
            status = ("subscribed", "pending", "unsubscribed", "subscribed")[i % 4]
            connection.execute(
                "INSERT INTO subscribers (email, email_key, link_key, first_name, status, optin_time, confirm_time,"
                " mail_owed, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
                (
                    f"walker{i}@example.com",
                    f"walker{i}@example.com",
                    f"browser-link-{i:04d}",
                    f"Walker {i}",
                    status,
                    optin,
                    optin if status != "pending" else None,
                    optin,
                    optin,
                ),
            )
    connection.close()
    return live_server


SLOW = 20_000  # ms: a scrypt check on a machine busy with other test runs


def log_in(page, url: str, password: str = PASSWORD) -> None:
    page.goto(url + "/owner/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state(timeout=SLOW)
    if password == PASSWORD:
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible(timeout=SLOW)


def assert_no_axe_violations(page):
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 360, "height": 740}, accept_downloads=True)
    context.set_default_timeout(SLOW)
    yield context.new_page()
    context.close()


def test_login_by_its_labels_then_the_dashboard(page, site):
    blocked = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    log_in(page, site.url)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page).to_have_url(site.url + "/owner/")
    expect(page.get_by_text(f"Logged in as {EMAIL}")).to_be_visible()
    expect(page.locator("#count-total")).to_have_text("40")
    expect(page.get_by_role("img", name=re.compile("^Signups and confirmations per day"))).to_be_visible()
    page.get_by_text("The numbers, day by day").click()
    expect(page.locator("#chart-data tfoot")).to_contain_text("40")
    assert blocked == []


def test_a_wrong_password_is_shown_as_an_error(page, site):
    log_in(page, site.url, password="not-the-password-at-all")
    expect(page.get_by_role("alert")).to_have_text("Email or password is wrong.", timeout=SLOW)
    expect(page.get_by_label("Password")).to_have_value("")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_owner_pages_pass_axe(browser, site, scheme):
    context = browser.new_context(color_scheme=scheme, viewport={"width": 360, "height": 740})
    context.set_default_timeout(SLOW)
    page = context.new_page()
    page.goto(site.url + "/owner/login")
    assert_no_axe_violations(page)
    log_in(page, site.url)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.get_by_text("The numbers, day by day").click()
    assert_no_axe_violations(page)
    small = page.evaluate("[...document.querySelectorAll('main button')].filter(b => b.offsetHeight < 44).length")
    assert small == 0
    context.close()


def test_download_the_confirmed_subscribers(page, site):
    log_in(page, site.url)
    with page.expect_download() as info:
        page.get_by_role("link", name="Confirmed subscribers (CSV)").click()
    download = info.value
    assert re.fullmatch(r"fitspot-subscribers-subscribed-\d{4}-\d\d-\d\d\.csv", download.suggested_filename)
    with open(download.path(), encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    assert lines[0].startswith("Email Address,First Name,Status,OPTIN_TIME")
    assert len(lines) == 1 + 20


def test_erase_a_subscriber_with_a_confirm_step_then_log_out(page, site):
    log_in(page, site.url)
    page.get_by_label("Email of the subscriber to erase").fill("walker7@example.com")
    page.get_by_role("button", name="Erase…").click()
    expect(page.get_by_role("heading", name="Erase walker7@example.com?")).to_be_visible()
    page.get_by_role("button", name="Erase for good").click()
    expect(page.get_by_role("status")).to_have_text("The subscriber and their consent record are erased.")
    connection = sqlite3.connect(site.instance / "fitspot.sqlite3")
    try:
        assert connection.execute(
            "SELECT count(*) FROM subscribers WHERE email_key = 'walker7@example.com'"
        ).fetchone() == (0,)
    finally:
        connection.close()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("status")).to_have_text("You are logged out.")
    page.goto(site.url + "/owner/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
