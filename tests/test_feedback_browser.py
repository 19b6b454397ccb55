"""'Was this page helpful?' in real Chromium: fetch(), keyboard only, axe-core, and no JavaScript."""

import re
import sqlite3

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.servers import Server

pytestmark = pytest.mark.browser

SLUG = "back-pain-relief-walking"
ARTICLE = f"/articles/{SLUG}"
STORAGE_KEY = f"fitspot:vote-id:{SLUG}"
YES = re.compile(r"^Yes")
NO = re.compile(r"^No")


def votes(server, vote_id: str) -> list[tuple]:
    """The stored rows for one vote id: (vote, comment)."""
    connection = sqlite3.connect(server.instance / "fitspot.sqlite3")
    try:
        return connection.execute(
            "SELECT vote, comment FROM votes WHERE article = ? AND vote_id = ?", (SLUG, vote_id)
        ).fetchall()
    finally:
        connection.close()


def stored_vote_id(page) -> str:
    return page.evaluate(f"localStorage.getItem({STORAGE_KEY!r})")


def region(page):
    return page.get_by_role("region", name="Was this page helpful?")


def focused_text(page) -> str:
    return page.evaluate("document.activeElement.textContent.trim()")


def assert_no_axe_violations(page):
    results = Axe().run(page, context="#feedback")
    assert results.violations_count == 0, results.generate_report()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """gunicorn with two workers, with room for this module's votes and comments within a minute
    (all from 127.0.0.1; the limits themselves are tested in test_feedback.py)."""
    server = Server(
        tmp_path_factory.mktemp("feedback-live"),
        env={"FEEDBACK_VOTE_RATE_LIMIT": "1000 per minute", "FEEDBACK_COMMENT_RATE_LIMIT": "1000 per minute"},
    ).start()
    yield server
    server.stop()


def test_vote_with_fetch_shows_the_thanks_with_focus_and_stores_it(page, live_server):
    page.goto(live_server.url + ARTICLE)
    page.evaluate("window.notReloaded = true")
    region(page).get_by_role("button", name=YES).click()
    thanks = region(page).get_by_role("status")
    expect(thanks).to_have_text("Thank you for your answer.")
    expect(thanks).to_be_focused()
    assert page.evaluate("window.notReloaded") is True  # swapped in place, no page load
    assert page.url == live_server.url + ARTICLE
    vote_id = stored_vote_id(page)
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,64}", vote_id)
    assert votes(live_server, vote_id) == [("yes", None)]
    expect(region(page).get_by_role("textbox", name="What helped?")).to_be_visible()


def test_yes_then_no_then_comment_is_one_vote_that_a_reload_keeps(page, live_server):
    page.goto(live_server.url + ARTICLE)
    region(page).get_by_role("button", name=YES).click()
    region(page).get_by_role("button", name="Change my answer to No").click()
    box = region(page).get_by_role("textbox", name="What was missing or wrong?")
    expect(box).to_be_visible()
    expect(region(page).get_by_role("status")).to_be_focused()

    box.fill("x" * 1001)  # too long: the error, the text kept, focus on the box
    region(page).get_by_role("button", name="Send comment").click()
    expect(region(page).get_by_text("Keep your comment to 1,000 characters or fewer.")).to_be_visible()
    box = region(page).get_by_role("textbox", name="What was missing or wrong?")
    expect(box).to_have_value("x" * 1001)
    expect(box).to_be_focused()
    assert box.evaluate("el => el.tabIndex") == 0  # still in the Tab order

    box.fill("How far to walk in the first week.")
    region(page).get_by_role("button", name="Send comment").click()
    sent = region(page).get_by_role("status")
    expect(sent).to_contain_text("Your comment has been sent")
    expect(sent).to_be_focused()
    vote_id = stored_vote_id(page)
    assert votes(live_server, vote_id) == [("no", "How far to walk in the first week.")]

    page.reload()  # the same reader, later: still one vote, now changed
    region(page).get_by_role("button", name=YES).click()
    expect(region(page).get_by_role("status")).to_have_text("Thank you for your answer.")
    assert stored_vote_id(page) == vote_id
    assert votes(live_server, vote_id) == [("yes", "How far to walk in the first week.")]


def test_two_readers_are_two_votes(browser, live_server):
    ids = []
    for _ in range(2):
        context = browser.new_context()
        page = context.new_page()
        page.goto(live_server.url + ARTICLE)
        region(page).get_by_role("button", name=NO).click()
        expect(region(page).get_by_role("status")).to_be_visible()
        ids.append(stored_vote_id(page))
        context.close()
    assert ids[0] != ids[1]
    assert [votes(live_server, i) for i in ids] == [[("no", None)], [("no", None)]]


def test_keyboard_only(page, live_server):
    page.goto(live_server.url + ARTICLE)
    page.locator("body").focus()
    for _ in range(150):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.value") == "yes":
            break
    assert focused_text(page) == "Yes, this page was helpful"
    page.keyboard.press("Enter")
    expect(region(page).get_by_role("status")).to_be_focused()
    page.keyboard.press("Tab")  # the honeypot is skipped: straight to the comment box
    expect(region(page).get_by_role("textbox", name="What helped?")).to_be_focused()
    page.keyboard.type("The stretches.")
    page.keyboard.press("Tab")
    assert focused_text(page) == "Send comment"
    page.keyboard.press("Enter")
    expect(region(page).get_by_role("status")).to_contain_text("Your comment has been sent")
    expect(region(page).get_by_role("status")).to_be_focused()
    assert votes(live_server, stored_vote_id(page)) == [("yes", "The stretches.")]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_state_of_the_region_passes_axe(browser, live_server, scheme):
    context = browser.new_context(color_scheme=scheme, viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(live_server.url + ARTICLE)
    assert_no_axe_violations(page)  # the question
    region(page).get_by_role("button", name=NO).click()
    expect(region(page).get_by_role("status")).to_be_focused()
    assert_no_axe_violations(page)  # thanks and the comment form
    region(page).get_by_role("button", name="Send comment").click()
    expect(region(page).get_by_text("Write a comment before sending it.")).to_be_visible()
    assert_no_axe_violations(page)  # the form with its error
    region(page).get_by_role("textbox", name="What was missing or wrong?").fill("Fine.")
    region(page).get_by_role("button", name="Send comment").click()
    expect(region(page).get_by_role("status")).to_contain_text("Your comment has been sent")
    assert_no_axe_violations(page)  # sent
    small = page.evaluate("[...document.querySelectorAll('#feedback button')].filter(b => b.offsetHeight < 44).length")
    assert small == 0
    context.close()


def test_without_javascript_vote_and_comment_by_post_redirect_get(no_js_page, live_server):
    page = no_js_page
    page.goto(live_server.url + ARTICLE)
    region(page).get_by_role("button", name=NO).click()
    page.wait_for_url(re.compile(r"\?feedback=no\.[A-Za-z0-9_-]+#feedback$"))
    vote_id = page.url.split("feedback=no.")[1].split("#")[0]
    expect(region(page).get_by_role("status")).to_have_text("Thank you for your answer.")
    assert votes(live_server, vote_id) == [("no", None)]

    region(page).get_by_role("textbox", name="What was missing or wrong?").fill("y" * 1001)
    region(page).get_by_role("button", name="Send comment").click()
    expect(region(page).get_by_text("Keep your comment to 1,000 characters or fewer.")).to_be_visible()
    expect(region(page).get_by_role("textbox", name="What was missing or wrong?")).to_have_value("y" * 1001)
    assert votes(live_server, vote_id) == [("no", None)]

    region(page).get_by_role("textbox", name="What was missing or wrong?").fill("A video of the stretches.")
    region(page).get_by_role("button", name="Send comment").click()
    page.wait_for_url(re.compile(r"\?feedback=sent#feedback$"))
    expect(region(page).get_by_role("status")).to_contain_text("Your comment has been sent")
    assert votes(live_server, vote_id) == [("no", "A video of the stretches.")]
