// The offline side of the site: the service worker and its update prompt, the status line,
// the list of saved articles, the outbox that keeps forms sent offline, and two tools for
// reading on a walk ("Keep screen on", "Listen").
//
// All of it is progressive enhancement: where the browser lacks service workers, IndexedDB,
// the Wake Lock API or speech synthesis, that part stays hidden and the site works as before.

const SW_URL = "/sw.js";
const CACHE_PREFIX = "fitspot-";
const SAVED_COPY_TIMING = "fitspot-saved"; // Server-Timing entry the worker adds to saved copies
const TEXT = {
  saved: "Saved for offline reading",
  savedCopy: "You're offline — showing the saved copy",
  queued: "Saved — it will be sent when you're back online",
  refused: "This could not be sent: ",
  noVoice: "Reading aloud isn't available on this device right now.",
  noWakeLock: "This device won't keep the screen on right now.",
  nothingSaved: "Nothing is saved on this device yet. Articles you open are kept here for reading offline.",
};

// --- the status line -------------------------------------------------------------------------

const statusLine = document.querySelector("[data-pwa-status]");

function setStatus(text, kind) {
  if (!statusLine || statusLine.textContent === text) return;
  statusLine.textContent = text;
  statusLine.dataset.kind = kind;
}

/** Tell whether this page is a saved copy of itself (not the offline page standing in for one). */
function showsSavedCopy() {
  return servedFromCache() && !document.querySelector("[data-pwa-offline-page]");
}

/** Tell whether this page came from the worker's cache rather than the network. */
function servedFromCache() {
  const [navigation] = performance.getEntriesByType("navigation");
  return Boolean(navigation && navigation.serverTiming?.some((entry) => entry.name === SAVED_COPY_TIMING));
}

async function showSavedState() {
  if (servedFromCache()) {
    if (showsSavedCopy()) setStatus(TEXT.savedCopy, "offline");
    return;
  }
  if (!document.querySelector("[data-article]") || !("caches" in window)) return;
  const saved = await caches.match(location.pathname, { ignoreSearch: true, ignoreVary: true });
  if (saved) setStatus(TEXT.saved, "saved");
}

// --- saved articles --------------------------------------------------------------------------

async function savedArticles() {
  const found = new Map();
  const parser = new DOMParser();
  for (const name of await caches.keys()) {
    if (!name.startsWith(CACHE_PREFIX)) continue;
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const url = new URL(request.url);
      if (url.origin !== location.origin || found.has(url.pathname)) continue;
      const response = await cache.match(request);
      if (!(response.headers.get("Content-Type") || "").startsWith("text/html")) continue;
      const page = parser.parseFromString(await response.text(), "text/html");
      if (!page.querySelector("[data-article]")) continue;
      const title = (page.querySelector("h1")?.textContent || page.title).trim();
      found.set(url.pathname, title);
    }
  }
  return [...found].map(([path, title]) => ({ path, title })).sort((a, b) => a.title.localeCompare(b.title));
}

async function showSavedList() {
  const section = document.querySelector("[data-pwa-saved]");
  const list = section?.querySelector("[data-pwa-saved-list]");
  if (!list || !("caches" in window)) return;
  if (section.dataset.pwaSavedWhen === "offline" && navigator.onLine && !servedFromCache()) return;
  const articles = await savedArticles();
  const items = articles.map(({ path, title }) => {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = path;
    link.textContent = title;
    item.append(link);
    return item;
  });
  if (!items.length) {
    const item = document.createElement("li");
    item.textContent = TEXT.nothingSaved;
    items.push(item);
  }
  list.replaceChildren(...items);
  section.hidden = false;
}

// --- the service worker and updates ------------------------------------------------------------

function offerUpdate(registration) {
  const prompt = document.querySelector("[data-pwa-update]");
  const button = prompt?.querySelector("[data-pwa-reload]");
  if (!button || !prompt.hidden) return;
  prompt.hidden = false;
  button.addEventListener("click", () => {
    const waiting = registration.waiting;
    if (!waiting) {
      location.reload();
      return;
    }
    button.disabled = true;
    let reloaded = false;
    navigator.serviceWorker.addEventListener("controllerchange", () => {
      if (reloaded) return;
      reloaded = true;
      location.reload();
    });
    waiting.postMessage({ type: "SKIP_WAITING" });
  });
}

function watchForUpdates(registration) {
  const offer = () => {
    // The first install has no controller: nothing to replace, nothing to ask.
    if (registration.waiting && navigator.serviceWorker.controller) offerUpdate(registration);
  };
  offer();
  registration.addEventListener("updatefound", () => {
    const worker = registration.installing;
    worker?.addEventListener("statechange", () => {
      if (worker.state === "installed") offer();
    });
  });
  const check = () => registration.update().catch(() => undefined);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") check();
  });
  addEventListener("online", check);
}

async function startWorker() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.addEventListener("message", (event) => {
    if (event.data?.type === "OUTBOX_DELIVERED") delivered(event.data.entry, event.data.status, event.data.data);
  });
  let registration;
  try {
    registration = await navigator.serviceWorker.register(SW_URL, { scope: "/" });
  } catch {
    return; // private mode or blocked by the user: the site still works online
  }
  if (!registration) return; // blocked by the browser's settings
  watchForUpdates(registration);
  await navigator.serviceWorker.ready;
  await showSavedState();
  await showSavedList();
}

// --- the outbox: forms sent while offline ------------------------------------------------------

const queuedKeys = new WeakMap(); // form -> the idempotency key of its queued submission

/** Ask forms.js to show a message in the form (it owns the markup and the focus). */
function tell(form, text, kind) {
  form.dispatchEvent(new CustomEvent("fitspot:message", { bubbles: true, detail: { text, kind } }));
}

function keep(event) {
  const request = event.detail;
  const form = event.target;
  if (!request || !self.fitspotOutbox || new URL(request.url, location.href).origin !== location.origin) return;
  event.preventDefault(); // forms.js: we keep this request, it shows no error
  queuedKeys.set(form, request.key);
  tell(form, TEXT.queued, "info");
  self.fitspotOutbox
    .keep(request)
    .then(requestSync)
    .catch(() => tell(form, "You seem to be offline. Please try again when you have a connection.", "error"));
}

async function requestSync() {
  const registration = "serviceWorker" in navigator ? await navigator.serviceWorker.getRegistration() : null;
  try {
    await registration?.sync?.register(self.fitspotOutbox.SYNC_TAG);
  } catch {
    // no Background Sync here: the `online` event and the next page load send it
  }
}

// A form changed and sent again while its first version still waits reuses the key, so that
// the last answer replaces the queued one instead of being applied as well.
function reuseQueuedKey(event) {
  const key = queuedKeys.get(event.target);
  if (key && event.detail?.body) event.detail.body.set("idempotency_key", key);
}

function delivered(entry, status, data) {
  const form = [...document.querySelectorAll("form[data-enhance]")].find(
    (candidate) => candidate.action === entry.url || queuedKeys.get(candidate) === entry.key,
  );
  if (!form) return;
  queuedKeys.delete(form);
  if (data?.html) {
    // No focus: the reader may be reading elsewhere on the page by now; a jump would lose their place.
    form.dispatchEvent(new CustomEvent("fitspot:replace", { bubbles: true, detail: { html: data.html, focus: false } }));
  } else if (status >= 400) {
    tell(form, TEXT.refused + (data?.message || `the server answered ${status}.`), "error");
  }
}

function replayOutbox() {
  // The worker replays the same queue on `sync`; outbox.js lets one sender at a time at it.
  return self.fitspotOutbox.replay(delivered);
}

let replaying = null;

function replaySoon() {
  replaying ||= replayOutbox()
    .catch(() => undefined)
    .finally(() => {
      replaying = null;
    });
  return replaying;
}

function startOutbox() {
  if (!("indexedDB" in window) || !self.fitspotOutbox) return;
  // Capture: forms.js dispatches these on the form and they do not bubble.
  document.addEventListener("fitspot:network-error", keep, { capture: true });
  document.addEventListener("fitspot:submit", reuseQueuedKey, { capture: true });
  addEventListener("online", replaySoon);
  if (navigator.onLine) replaySoon();
}

// --- for the walk: keep the screen on, listen to the article ----------------------------------

function toolMessage(text) {
  const box = document.querySelector("[data-pwa-tools-message]");
  if (box) box.textContent = text;
}

function showTool(button) {
  button.hidden = false;
  button.closest("[data-pwa-tools]").hidden = false;
}

function startWakeLock() {
  const button = document.querySelector("[data-pwa-wakelock]");
  if (!button || !("wakeLock" in navigator)) return;
  let wanted = false;
  let lock = null;
  const render = () => button.setAttribute("aria-pressed", String(wanted));
  const acquire = async () => {
    try {
      lock = await navigator.wakeLock.request("screen");
      lock.addEventListener("release", () => {
        lock = null;
      });
    } catch {
      wanted = false; // refused (battery saver, permissions): show it as off, and say so
      toolMessage(TEXT.noWakeLock);
    }
    render();
  };
  button.addEventListener("click", async () => {
    wanted = !wanted;
    render();
    if (wanted) await acquire();
    else if (lock) await lock.release();
  });
  // The browser releases the lock when the page is hidden; take it again on return.
  document.addEventListener("visibilitychange", () => {
    if (wanted && !lock && document.visibilityState === "visible") acquire();
  });
  showTool(button);
}

function readableParts(article) {
  const roots = article.querySelectorAll(".article-header h1, .key-points, .prose, .faq");
  const blocks = "h1, h2, h3, h4, p, li, blockquote";
  const parts = [];
  for (const root of roots) {
    const elements = root.matches("h1") ? [root] : root.querySelectorAll(blocks);
    for (const element of elements) {
      if (element !== root && element.querySelector(blocks)) continue; // read the inner blocks instead
      const text = element.textContent.replace(/\s+/g, " ").trim();
      if (text) parts.push(text);
    }
  }
  return parts;
}

function startListen() {
  const button = document.querySelector("[data-pwa-listen]");
  const stop = document.querySelector("[data-pwa-listen-stop]");
  const article = document.querySelector("[data-article]");
  if (!button || !article || !("speechSynthesis" in window) || typeof SpeechSynthesisUtterance !== "function") return;
  const synth = window.speechSynthesis;
  let state = "idle"; // idle | speaking | paused
  const labels = { idle: "Listen", speaking: "Pause", paused: "Resume" };
  const render = () => {
    button.textContent = labels[state];
    button.dataset.state = state;
    if (stop) stop.hidden = state === "idle";
  };
  const finish = () => {
    state = "idle";
    render();
  };
  const start = () => {
    synth.cancel();
    toolMessage("");
    const parts = readableParts(article);
    // One utterance a paragraph: Chromium cuts long utterances off after about 15 seconds.
    parts.forEach((text, index) => {
      const utterance = new SpeechSynthesisUtterance(text);
      utterance.lang = document.documentElement.lang || "en";
      if (index === parts.length - 1) utterance.addEventListener("end", finish);
      utterance.addEventListener("error", (event) => {
        if (event.error === "interrupted" || event.error === "canceled" || state === "idle") return;
        synth.cancel();
        finish();
        toolMessage(TEXT.noVoice);
      });
      synth.speak(utterance);
    });
    state = "speaking";
    render();
  };
  button.addEventListener("click", () => {
    if (state === "idle") {
      start();
    } else if (state === "speaking") {
      synth.pause();
      state = "paused";
      render();
    } else {
      synth.resume();
      state = "speaking";
      render();
    }
  });
  stop?.addEventListener("click", () => {
    synth.cancel();
    finish();
    button.focus();
  });
  addEventListener("pagehide", () => synth.cancel());
  showTool(button);
}

// --- start ------------------------------------------------------------------------------------

if (showsSavedCopy()) setStatus(TEXT.savedCopy, "offline");
startOutbox();
startWakeLock();
startListen();
showSavedList();
startWorker();
