"""The PWA in real Chromium: installability, the service worker's caches, reading with the
server stopped or on a slow network, updates, and the walk tools.

Every test gets a fresh browser context: service workers, caches and IndexedDB belong to it.
Tests that stop their server get their own (`own_site`); the others share `site`.
"""

import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.servers import Server

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = "/articles/back-pain-relief-walking"
ARTICLE_TITLE = "Back Pain Relief at Your Feet: Uncover the Surprising Power of Walking"
SECOND = "/articles/a-warm-up-for-your-walk"
SECOND_TITLE = "A Five-Minute Warm-Up for Your Walk"
SECOND_TEXT = "Swing each leg gently forward and back ten times, holding a fence or a wall."
TIMEOUT_MS = 1500  # the worker's network timeout on these servers (3 s in production)

SECOND_ARTICLE = f"""---
title: "{SECOND_TITLE}"
slug: a-warm-up-for-your-walk
author: steven
published: 2024-05-01
category: Guide
description: Five minutes of gentle moves that make the first mile easier on your back.
---
Cold muscles make the first minutes of a walk harder than they need to be.

## Leg swings

{SECOND_TEXT}

## Hip circles

Hands on hips, draw slow circles with your hips, five each way.
"""

WAIT_FOR_WORKER = """async () => {
  const registration = await navigator.serviceWorker.ready;
  if (!navigator.serviceWorker.controller) {
    await new Promise((resolve) =>
      navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true }),
    );
  }
  return registration.active.scriptURL;
}"""

CACHE_INDEX = """async () => {
  const index = {};
  for (const name of await caches.keys()) {
    index[name] = (await (await caches.open(name)).keys()).map((request) => request.url);
  }
  return index;
}"""

CACHED_TEXT = """async ([name, url]) => {
  const response = await (await caches.open(name)).match(url);
  return response ? response.text() : null;
}"""


def make_content(folder: Path) -> Path:
    """A copy of content/ with a second article, which tests never open before going offline."""
    shutil.copytree(ROOT / "content", folder)
    (folder / "articles" / "a-warm-up-for-your-walk.md").write_text(SECOND_ARTICLE, encoding="utf-8")
    return folder


def start_site(tmp: Path, content: Path) -> Server:
    env = {"CONTENT_DIR": str(content), "PWA_NETWORK_TIMEOUT_MS": str(TIMEOUT_MS)}
    return Server(tmp, env=env).start()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A server the tests in this module share (none of them stops it)."""
    tmp = tmp_path_factory.mktemp("pwa-site")
    server = start_site(tmp / "server", make_content(tmp / "content"))
    yield server
    server.stop()


@pytest.fixture
def own_site(tmp_path):
    """A server for one test, which it may stop, restart or edit the content of."""
    server = start_site(tmp_path / "server", make_content(tmp_path / "content"))
    server.content = tmp_path / "content"
    yield server
    server.stop()


class Messages(list):
    def errors(self):
        return [text for kind, text in self if kind in ("error", "pageerror")]


@pytest.fixture
def context(browser):
    """A fresh browser context: its own service worker registrations, caches and IndexedDB."""
    ctx = browser.new_context(viewport={"width": 360, "height": 740})
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    page.messages = Messages()
    page.on("console", lambda m: page.messages.append((m.type, m.text)))
    page.on("pageerror", lambda e: page.messages.append(("pageerror", str(e))))
    return page


def open_with_worker(page, url):
    """Open a page and wait until the service worker is installed, active and in control."""
    page.goto(url)
    script = page.evaluate(WAIT_FOR_WORKER)
    assert script.endswith("/sw.js")


def precache_name(page) -> str:
    names = [n for n in page.evaluate("caches.keys()") if n.startswith("fitspot-precache-")]
    assert len(names) == 1, names
    return names[0]


class Blackhole:
    """Listen on a port, accept connections and never answer: one bar of signal."""

    def __init__(self, port: int):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(32)
        self.sock.settimeout(0.1)
        self.accepted: list[socket.socket] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.accepted.append(conn)

    def close(self):
        self.stopping.set()
        self.thread.join()
        self.sock.close()
        for conn in self.accepted:
            conn.close()


# --- installable ---------------------------------------------------------------------------------


def test_chromium_reports_the_site_installable(browser_type, browser_type_launch_args, site, tmp_path):
    # A real profile: Chromium never offers to install from an incognito-like context.
    context = browser_type.launch_persistent_context(
        tmp_path / "profile", **browser_type_launch_args, viewport={"width": 360, "height": 740}
    )
    try:
        page = context.pages[0] if context.pages else context.new_page()
        open_with_worker(page, site.url + "/")
        cdp = page.context.new_cdp_session(page)
        assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["url"] == site.url + "/manifest.webmanifest"
        assert manifest["errors"] == []
    finally:
        context.close()


def test_worker_registers_under_the_csp_with_no_console_errors(page, site):
    response = page.goto(site.url + ARTICLE)
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    page.evaluate(WAIT_FOR_WORKER)
    scope = page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.scope)")
    assert scope == site.url + "/"
    page.reload()  # now controlled by the worker
    expect(page.locator("[data-pwa-status]")).to_have_text("Saved for offline reading")
    assert page.messages.errors() == []


def test_install_precaches_every_article_and_the_files_they_need(page, site):
    open_with_worker(page, site.url + "/")
    name = precache_name(page)
    urls = page.evaluate(CACHE_INDEX)[name]
    assert site.url + "/offline" in urls
    assert site.url + "/" in urls
    assert any(re.search(r"/static/css/site\.[0-9a-f]{12}\.css$", u) for u in urls)
    assert any(re.search(r"/static/js/pwa\.[0-9a-f]{12}\.js$", u) for u in urls)
    assert any(re.search(r"/static/img/icon-maskable-512\.[0-9a-f]{12}\.png$", u) for u in urls)
    for path, title in [(ARTICLE, "Back Pain Relief at Your Feet"), (SECOND, SECOND_TITLE)]:
        html = page.evaluate(CACHED_TEXT, [name, site.url + path])
        assert html is not None, path
        assert f"<h1>{title}" in html


# --- offline ---------------------------------------------------------------------------------------


def test_articles_stay_readable_with_the_server_stopped(page, own_site):
    open_with_worker(page, own_site.url + ARTICLE)
    page.reload()
    online_text = page.locator("main").inner_text()
    assert "When to Seek Medical Attention" in online_text

    own_site.stop()
    page.reload()
    expect(page.locator("[data-pwa-status]")).to_have_text("You're offline — showing the saved copy")
    assert page.locator("main").inner_text() == online_text  # all of it, from the cache
    assert page.locator("h1").inner_text() == ARTICLE_TITLE
    expect(page.get_by_role("button", name="Keep screen on")).to_be_visible()  # the tools work offline

    # an article this reader never opened was saved when the worker installed
    response = page.goto(own_site.url + SECOND)
    assert response.status == 200
    expect(page.locator("h1")).to_have_text(SECOND_TITLE)
    expect(page.get_by_text(SECOND_TEXT)).to_be_visible()
    expect(page.locator("[data-pwa-status]")).to_have_text("You're offline — showing the saved copy")

    # an address that was never saved: the offline page, with the list of what is saved
    response = page.goto(own_site.url + "/articles/not-saved-anywhere?from=search")
    assert response.status == 200
    expect(page.locator("h1")).to_have_text("You're offline")
    expect(page.locator("[data-pwa-status]")).to_be_empty()  # it is not a saved copy of that address
    saved = page.locator("[data-pwa-saved-list]")
    expect(saved.get_by_role("link", name=ARTICLE_TITLE)).to_have_attribute("href", ARTICLE)
    expect(saved.get_by_role("link", name=SECOND_TITLE)).to_have_attribute("href", SECOND)
    saved.get_by_role("link", name=SECOND_TITLE).click()
    expect(page.get_by_text(SECOND_TEXT)).to_be_visible()

    # the home page says what can be read offline
    page.goto(own_site.url + "/?utm_source=homescreen")
    section = page.locator("[data-pwa-saved]")
    expect(section).to_be_visible()
    expect(section.get_by_role("heading")).to_have_text("Saved on this device")
    expect(section.get_by_role("link", name=SECOND_TITLE)).to_be_visible()

    # back online: the network answers again, and nobody claims the page is a saved copy
    own_site.start()
    page.goto(own_site.url + ARTICLE)
    expect(page.locator("[data-pwa-status]")).to_have_text("Saved for offline reading")


def test_saved_articles_are_not_listed_on_the_home_page_when_online(page, site):
    open_with_worker(page, site.url + "/")
    page.reload()
    expect(page.locator("[data-pwa-status]")).to_be_empty()
    page.wait_for_timeout(300)
    expect(page.locator("[data-pwa-saved]")).to_be_hidden()


def test_slow_network_shows_the_saved_copy_after_the_timeout(page, own_site):
    open_with_worker(page, own_site.url + ARTICLE)
    own_site.stop()
    hole = Blackhole(own_site.port)  # connections open, answers never come
    try:
        started = time.monotonic()
        page.goto(own_site.url + SECOND, timeout=15000)
        waited = time.monotonic() - started
        expect(page.locator("h1")).to_have_text(SECOND_TITLE)
        expect(page.locator("[data-pwa-status]")).to_have_text("You're offline — showing the saved copy")
        assert TIMEOUT_MS / 1000 <= waited < TIMEOUT_MS / 1000 + 4, waited
        assert hole.accepted  # the worker did try the network first
    finally:
        hole.close()


# --- updates ---------------------------------------------------------------------------------------


def test_new_version_is_offered_and_applied_with_one_reload(page, own_site):
    open_with_worker(page, own_site.url + ARTICLE)
    page.reload()
    old_cache = precache_name(page)
    expect(page.locator(".prose")).to_contain_text("Back pain is a prevalent issue")

    article = own_site.content / "articles" / "back-pain-relief-walking.md"
    text = article.read_text(encoding="utf-8")
    article.write_text(text.replace("Back pain is a prevalent issue", "Back pain is a very common issue", 1))
    own_site.restart()

    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)
    page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
    prompt = page.locator("[data-pwa-update]")
    expect(prompt).to_be_visible(timeout=20000)
    expect(prompt).to_have_text(re.compile(r"A new version is available — Reload"))
    expect(page.locator(".prose")).to_contain_text("prevalent")  # nothing changes behind the reader's back
    assert navigations == []

    with page.expect_navigation():
        prompt.get_by_role("button", name="Reload").click()
    expect(page.locator(".prose")).to_contain_text("Back pain is a very common issue")
    page.wait_for_timeout(1000)
    assert navigations == [own_site.url + ARTICLE]  # reloaded exactly once

    caches = page.evaluate("caches.keys()")
    assert old_cache not in caches
    new_cache = precache_name(page)
    assert new_cache != old_cache
    saved = page.evaluate(CACHED_TEXT, [new_cache, own_site.url + ARTICLE])
    assert "very common issue" in saved and "prevalent issue" not in saved
    expect(page.locator("[data-pwa-update]")).to_be_hidden()


# --- what is never stored --------------------------------------------------------------------------


def test_owner_pages_errors_and_posts_never_reach_a_cache(page, site):
    open_with_worker(page, site.url + "/")
    for path in ["/owner/", "/owner/login", "/articles/no-such-article"]:
        page.goto(site.url + path)
    page.goto(site.url + "/owner/login")
    page.get_by_label("Email").fill("nobody@example.com")  # a POST that must not be stored
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    page.goto(site.url + ARTICLE)
    posted = []
    page.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)
    page.get_by_role("button", name=re.compile("^Yes")).click()
    page.get_by_role("region", name="Was this page helpful?").get_by_text("Thank you").wait_for()
    assert posted

    index = page.evaluate(CACHE_INDEX)
    stored = [url for urls in index.values() for url in urls]
    assert site.url + ARTICLE in stored
    assert [u for u in stored if "/owner" in u] == []
    assert [u for u in stored if "no-such-article" in u] == []  # a 404 page is no-store
    assert [u for u in stored if u in posted] == []
    runtime = next(name for name in index if name.startswith("fitspot-pages-"))
    assert site.url + ARTICLE in index[runtime]  # the page the reader opened, from the network


# --- for the walk --------------------------------------------------------------------------------


def test_keep_screen_on_toggles_a_wake_lock(page, site):
    page.goto(site.url + ARTICLE)
    button = page.get_by_role("button", name="Keep screen on")
    expect(button).to_have_attribute("aria-pressed", "false")
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    button.click()
    expect(button).to_have_attribute("aria-pressed", "false")


def test_listen_reads_the_article_aloud_or_says_it_cannot(page, site):
    page.goto(site.url + ARTICLE)
    button = page.get_by_role("button", name="Listen")
    expect(button).to_be_visible()
    voices = page.evaluate(
        """() => new Promise((resolve) => {
             const voices = speechSynthesis.getVoices();
             if (voices.length) return resolve(voices.length);
             speechSynthesis.addEventListener("voiceschanged", () => resolve(speechSynthesis.getVoices().length));
             setTimeout(() => resolve(speechSynthesis.getVoices().length), 1000);
           })"""
    )
    button.click()
    if voices:
        expect(button).to_have_text("Pause")
        assert page.evaluate("speechSynthesis.speaking")
        button.click()
        expect(button).to_have_text("Resume")
        button.click()
        expect(button).to_have_text("Pause")
        page.get_by_role("button", name="Stop").click()
        expect(button).to_have_text("Listen")
    else:  # a machine without a speech engine (like CI): the reader is told, the button resets
        expect(page.locator("[data-pwa-tools-message]")).to_have_text(
            "Reading aloud isn't available on this device right now."
        )
        expect(button).to_have_text("Listen")
        expect(page.get_by_role("button", name="Stop")).to_be_hidden()


def test_walk_tools_stay_hidden_where_unsupported(page, site):
    page.add_init_script("delete Navigator.prototype.wakeLock; delete window.speechSynthesis;")
    page.goto(site.url + ARTICLE)
    page.wait_for_timeout(300)
    expect(page.locator("[data-pwa-tools]")).to_be_hidden()
    expect(page.get_by_role("button", name="Keep screen on")).to_have_count(0)
    expect(page.get_by_role("button", name="Listen")).to_have_count(0)


def test_site_works_as_a_plain_website_without_service_workers(browser, site):
    context = browser.new_context(viewport={"width": 360, "height": 740}, service_workers="block")
    try:
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(site.url + ARTICLE)
        expect(page.locator("h1")).to_have_text(ARTICLE_TITLE)
        page.get_by_role("link", name="Articles").click()
        expect(page.get_by_role("link", name=SECOND_TITLE)).to_be_visible()
        page.wait_for_timeout(500)
        assert page.evaluate("navigator.serviceWorker.controller") is None
        expect(page.locator("[data-pwa-status]")).to_be_empty()
        assert errors == []
    finally:
        context.close()


# --- nothing lost offline --------------------------------------------------------------------------

QUEUED = "Saved — it will be sent when you're back online"

OUTBOX_ENTRIES = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("fitspot", 1);
  open.onsuccess = () => {
    const db = open.result;
    const request = db.transaction("outbox").objectStore("outbox").getAll();
    request.onsuccess = () => { db.close(); resolve(request.result); };
    request.onerror = () => reject(request.error);
  };
  open.onerror = () => reject(open.error);
})"""

PUT_BACK = """(entries) => new Promise((resolve, reject) => {
  const open = indexedDB.open("fitspot", 1);
  open.onsuccess = () => {
    const db = open.result;
    const transaction = db.transaction("outbox", "readwrite");
    for (const entry of entries) transaction.objectStore("outbox").put(entry);
    transaction.oncomplete = () => { db.close(); resolve(entries.length); };
    transaction.onerror = () => reject(transaction.error);
  };
})"""


def wait_for_empty_outbox(page, timeout=20):
    deadline = time.monotonic() + timeout
    while page.evaluate(OUTBOX_ENTRIES):
        assert time.monotonic() < deadline, "the outbox was not sent"
        page.wait_for_timeout(200)


def stored_rows(server) -> dict:
    """Read what the server stored, straight from its database."""
    import sqlalchemy as sa

    engine = sa.create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            return {
                "votes": conn.execute(sa.text("SELECT article, vote_id, vote FROM votes")).all(),
                "subscribers": conn.execute(sa.text("SELECT email, status FROM subscribers")).all(),
                "keys": {row[0] for row in conn.execute(sa.text("SELECT key FROM idempotency_keys"))},
            }
    finally:
        engine.dispose()


def queue_vote_and_signup(page, server):
    """With the server stopped, vote Yes and sign up; both are kept, and the reader is told."""
    server.stop()
    feedback = page.get_by_role("region", name="Was this page helpful?")
    feedback.get_by_role("button", name=re.compile("^Yes")).click()
    expect(feedback.get_by_role("status")).to_have_text(QUEUED)
    signup = page.locator("#newsletter")
    signup.get_by_label("Email").fill("walker@example.com")
    signup.get_by_role("button", name="Subscribe").click()
    expect(signup.get_by_role("status")).to_have_text(QUEUED)
    entries = page.evaluate(OUTBOX_ENTRIES)
    assert len(entries) == 2
    for entry in entries:
        assert f"idempotency_key={entry['key']}" in entry["body"]
        assert entry["createdAt"]
    assert {entry["url"] for entry in entries} == {
        server.url + ARTICLE + "/feedback",
        server.url + "/newsletter",
    }
    assert stored_rows(server)["votes"] == []
    return entries


def test_offline_vote_and_signup_are_sent_once_when_back_online(page, own_site):
    open_with_worker(page, own_site.url + ARTICLE)
    page.reload()
    entries = queue_vote_and_signup(page, own_site)

    own_site.start()
    posted = []
    page.on("request", lambda r: posted.append(r.headers) if r.method == "POST" else None)
    page.evaluate("dispatchEvent(new Event('online')); dispatchEvent(new Event('online'))")  # triggered twice
    wait_for_empty_outbox(page)
    feedback = page.get_by_role("region", name="Was this page helpful?")
    expect(feedback.get_by_text("Thank you for your answer.")).to_be_visible()  # the server's answer
    expect(page.locator("#newsletter").get_by_text("Check your inbox to confirm")).to_be_visible()
    sent = [h for h in posted if h.get("idempotency-key") in {e["key"] for e in entries}]
    assert sent and all(h["accept"] == "application/json" for h in sent)

    # the same requests replayed again (a retry after a lost answer): nothing changes
    page.evaluate(PUT_BACK, entries)
    page.reload()  # the next page load sends what is queued
    wait_for_empty_outbox(page)

    rows = stored_rows(own_site)
    assert len(rows["votes"]) == 1
    assert rows["votes"][0][0] == "back-pain-relief-walking" and rows["votes"][0][2] == "yes"
    assert rows["subscribers"] == [("walker@example.com", "pending")]
    assert {e["key"] for e in entries} <= rows["keys"]
    mails = list((own_site.instance / "outbox").glob("*.eml"))
    assert len(mails) == 1  # one confirmation email, not one per replay


def test_background_sync_sends_the_outbox_from_the_worker(page, own_site):
    # While the server is down, a sync the page registers fires at once, fails, and Chromium
    # retries it only minutes later. Hold the page's registration back, and register it
    # when the server is up again, as the browser's retry would.
    page.add_init_script(
        """window.registerSync = SyncManager.prototype.register;
           SyncManager.prototype.register = () => Promise.reject(new Error("held back by the test"));"""
    )
    open_with_worker(page, own_site.url + ARTICLE)
    page.reload()
    queue_vote_and_signup(page, own_site)
    own_site.start()
    # No `online` event and no page load: only the worker's sync handler sends the queue.
    page.evaluate("navigator.serviceWorker.ready.then((r) => registerSync.call(r.sync, 'fitspot-outbox'))")
    wait_for_empty_outbox(page, timeout=30)
    feedback = page.get_by_role("region", name="Was this page helpful?")
    expect(feedback.get_by_text("Thank you for your answer.")).to_be_visible()  # told by the worker
    rows = stored_rows(own_site)
    assert len(rows["votes"]) == 1
    assert rows["subscribers"] == [("walker@example.com", "pending")]


def test_outbox_keeps_what_may_succeed_later_and_drops_what_never_will(page, site):
    open_with_worker(page, site.url + ARTICLE)
    page.reload()
    entry = {
        "url": site.url + ARTICLE + "/feedback",
        "body": "vote=yes&vote_id=AAAAAAAAAAAAAAAAAAAAAAAA&idempotency_key=kept-offline-0001",
        "key": "kept-offline-0001",
        "createdAt": "2024-06-10T08:00:00.000Z",
    }
    answers = []

    def answer_with(status, body):
        def handle(route):
            answers.append(status)
            route.fulfill(status=status, content_type="application/json", body=body)

        return handle

    pattern = re.compile(r".*/feedback$")
    for status in (503, 429, 408):  # may succeed later: kept
        page.route(pattern, answer_with(status, '{"ok": false, "message": "later"}'))
        page.evaluate(PUT_BACK, [entry])
        page.evaluate("dispatchEvent(new Event('online'))")
        deadline = time.monotonic() + 10
        while status not in answers:
            assert time.monotonic() < deadline, f"no replay for {status}"
            page.wait_for_timeout(100)
        page.wait_for_timeout(300)
        assert [e["key"] for e in page.evaluate(OUTBOX_ENTRIES)] == [entry["key"]], status
        page.unroute(pattern)

    page.route(pattern, answer_with(400, '{"ok": false, "message": "That vote is not yes or no."}'))
    page.evaluate("dispatchEvent(new Event('online'))")
    wait_for_empty_outbox(page)  # refused for good: dropped, and the reader is told
    feedback = page.get_by_role("region", name="Was this page helpful?")
    expect(feedback.get_by_role("alert")).to_have_text("This could not be sent: That vote is not yes or no.")
    assert [v for v in stored_rows(site)["votes"] if v[1] == "AAAAAAAAAAAAAAAAAAAAAAAA"] == []
