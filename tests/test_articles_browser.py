"""The article in real Chromium at phone size, with JavaScript off."""

import pytest

pytestmark = pytest.mark.browser

ARTICLE = "/articles/back-pain-relief-walking"


def test_article_reads_at_phone_size_without_javascript(no_js_page, live_server):
    page = no_js_page
    page.goto(live_server.url + ARTICLE)
    assert page.locator("h1").inner_text().startswith("Back Pain Relief at Your Feet")
    assert page.get_by_role("heading", name="When to Seek Medical Attention").is_visible()
    assert page.get_by_role("heading", name="Questions You May Have").is_visible()
    # nothing wider than the screen
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow == 0
    body_size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.prose p')).fontSize)")
    assert body_size >= 18


def test_back_to_top_link_scrolls_up(no_js_page, live_server):
    page = no_js_page
    page.goto(live_server.url + ARTICLE)
    link = page.get_by_role("link", name="Back to top")
    link.scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 1000
    link.click()
    for _ in range(50):  # smooth scrolling takes a moment; wait_for_function needs JS
        if page.evaluate("window.scrollY") < 50:
            break
        page.wait_for_timeout(100)
    assert page.evaluate("window.scrollY") < 50
    assert page.url.endswith("#top")
    assert page.locator(".site-header").is_visible()


def test_tap_targets_are_at_least_44px(no_js_page, live_server):
    page = no_js_page
    page.goto(live_server.url + ARTICLE)
    for name in ("Back to top",):
        box = page.get_by_role("link", name=name).bounding_box()
        assert box["height"] >= 44
    small = page.evaluate(
        """() => [...document.querySelectorAll('button, .site-footer a, .back-to-top a')]
              .filter(el => el.getClientRects().length)  // rendered: not hidden until JS shows it
              .filter(el => el.getBoundingClientRect().height < 44).map(el => el.textContent)"""
    )
    assert small == []
