"""axe-core on every public page and the owner's pages, in light and dark: zero violations."""

import pytest
from axe_playwright_python.sync_playwright import Axe

pytestmark = pytest.mark.browser

PUBLIC_PAGES = [
    "/",
    "/articles/back-pain-relief-walking",
    "/newsletter",
    "/privacy",
    "/offline",
    "/no-such-page",  # the styled 404
    "/newsletter/confirm/not-a-valid-token",  # the clear page for a bad link
]
OWNER_EMAIL = "steven@example.com"
OWNER_PASSWORD = "a long enough password"


def assert_no_violations(page, where: str):
    results = Axe().run(page)
    assert results.violations_count == 0, f"{where}:\n{results.generate_report()}"


@pytest.fixture(params=["light", "dark"])
def scheme_page(request, browser):
    context = browser.new_context(color_scheme=request.param, viewport={"width": 360, "height": 740})
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_have_no_axe_violations(scheme_page, live_server, path):
    scheme_page.goto(live_server.url + path)
    assert_no_violations(scheme_page, path)


@pytest.fixture(scope="module")
def owner_account(live_server):
    live_server.flask("owner", "create", OWNER_EMAIL, input=OWNER_PASSWORD + "\n")
    return OWNER_EMAIL


def test_owner_pages_have_no_axe_violations(scheme_page, live_server, owner_account):
    page = scheme_page
    page.goto(live_server.url + "/owner/login")
    assert_no_violations(page, "/owner/login")
    page.get_by_label("Email").fill(owner_account)
    page.get_by_label("Password").fill("wrong password, long")
    page.get_by_role("button", name="Log in").click()
    assert_no_violations(page, "/owner/login with its error")
    page.get_by_label("Password").fill(OWNER_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/owner/")
    assert_no_violations(page, "/owner/")
