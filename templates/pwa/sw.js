// Fitspot's service worker, written by hand; the server fills in the precache list
// (webapp/pwa/precache.py). Served from /sw.js with Cache-Control: no-cache, so the browser
// notices every new list and installs the new worker next to the old one.
//
// - install:  fetch every precache entry into a new cache (reusing unchanged entries from the
//             previous one); no skipWaiting: the page asks the reader first.
// - activate: delete every cache this version does not use, then take control of open pages.
// - fetch:    navigations network first with a timeout, then the saved copy, then /offline;
//             content-hashed static files cache first; only same-origin GET 200 responses
//             without Cache-Control: no-store are stored; never POSTs, never /owner/.
// - sync:     send the forms kept in IndexedDB while offline (Background Sync).
"use strict";

const VERSION = {{ version | tojson }};
const PRECACHE = `fitspot-precache-${VERSION}`;
const RUNTIME = `fitspot-pages-${VERSION}`;
const PRECACHE_ENTRIES = {{ entries | tojson }};
const NETWORK_TIMEOUT_MS = {{ network_timeout_ms | tojson }};
const OFFLINE_URL = "/offline";
const REVISION_HEADER = "X-Fitspot-Revision";
// Responses served from a cache carry this Server-Timing entry: the page reads it from its
// navigation timing to tell the reader they are looking at the saved copy.
const SAVED_COPY_TIMING = 'fitspot-saved;desc="saved copy"';
const HASHED_STATIC = /^\/static\/.+\.[0-9a-f]{12}(\.[A-Za-z0-9]+)?$/;

// The outbox is shared with the page (static/js/outbox.js): one queue, one way to replay it.
importScripts({{ asset_url("js/outbox.js") | tojson }});

// --- install and activate ------------------------------------------------------------------

self.addEventListener("install", (event) => {
  event.waitUntil(precache());
});

self.addEventListener("activate", (event) => {
  event.waitUntil(activate());
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "SKIP_WAITING") self.skipWaiting();
});

async function precache() {
  const previous = (await caches.keys()).filter((name) => name.startsWith("fitspot-precache-") && name !== PRECACHE);
  const responses = await Promise.all(
    PRECACHE_ENTRIES.map(async (entry) => [entry, (await reuse(previous, entry)) || (await download(entry))]),
  );
  // Write only once everything arrived: a half-filled cache is never used by an active worker.
  const cache = await caches.open(PRECACHE);
  await Promise.all(responses.map(([entry, response]) => cache.put(entry.url, response)));
}

async function reuse(cacheNames, entry) {
  for (const name of cacheNames) {
    const cached = await (await caches.open(name)).match(entry.url);
    if (cached && cached.headers.get(REVISION_HEADER) === entry.revision) return cached;
  }
  return null;
}

async function download(entry) {
  const response = await fetch(entry.url, { cache: "no-cache", credentials: "same-origin" });
  if (response.status !== 200 || response.redirected) {
    throw new Error(`precache: ${entry.url} answered ${response.status}`);
  }
  if (entry.kind === "page") {
    const etag = (response.headers.get("ETag") || "").replace(/^W\//, "").replace(/"/g, "");
    if (etag && etag !== entry.revision) throw new Error(`precache: ${entry.url} changed during the update`);
  }
  return copy(response, { [REVISION_HEADER]: entry.revision });
}

// A stored copy with extra headers; the body is already decoded, so drop its encoding headers.
async function copy(response, extraHeaders) {
  const headers = new Headers(response.headers);
  headers.delete("Content-Encoding");
  headers.delete("Content-Length");
  for (const [name, value] of Object.entries(extraHeaders)) headers.set(name, value);
  return new Response(await response.blob(), { status: response.status, statusText: response.statusText, headers });
}

async function activate() {
  const keep = new Set([PRECACHE, RUNTIME]);
  const names = await caches.keys();
  await Promise.all(names.filter((name) => !keep.has(name)).map((name) => caches.delete(name)));
  if (self.registration.navigationPreload) await self.registration.navigationPreload.enable();
  await self.clients.claim();
}

// --- fetch -----------------------------------------------------------------------------------

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return; // POSTs go to the network, untouched and never stored
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || isPrivate(url)) return;
  if (request.mode === "navigate") {
    event.respondWith(navigate(event));
  } else if (HASHED_STATIC.test(url.pathname)) {
    event.respondWith(cacheFirst(event));
  }
});

function isPrivate(url) {
  return url.pathname === "/owner" || url.pathname.startsWith("/owner/");
}

function isStorable(response) {
  if (!response || response.status !== 200 || response.type !== "basic" || response.redirected) return false;
  const url = new URL(response.url);
  if (url.origin !== self.location.origin || isPrivate(url)) return false;
  return !/no-store/i.test(response.headers.get("Cache-Control") || "");
}

function pageKey(url) {
  const key = new URL(url, self.location.origin);
  key.search = "";
  key.hash = "";
  return key.href;
}

class NetworkTimeout extends Error {}

function withTimeout(promise, ms) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new NetworkTimeout(`no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function navigate(event) {
  const request = event.request;
  let stored = Promise.resolve();
  const network = (async () => {
    const response = (await event.preloadResponse) || (await fetch(request));
    if (isStorable(response)) stored = storePage(request.url, response.clone());
    return response;
  })();
  event.waitUntil(network.then(() => stored, () => undefined));
  try {
    return await withTimeout(network, NETWORK_TIMEOUT_MS);
  } catch (error) {
    const saved = await savedPage(request.url);
    if (saved) return markSaved(saved);
    if (error instanceof NetworkTimeout) {
      try {
        return await network; // slow, and nothing saved: keep waiting for the network
      } catch {
        // fall through to the offline page
      }
    }
    const offline = await savedPage(OFFLINE_URL);
    if (offline) return markSaved(offline);
    return new Response("You're offline, and this page is not saved on this device.", {
      status: 503,
      headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" },
    });
  }
}

async function storePage(url, response) {
  const cache = await caches.open(RUNTIME);
  await cache.put(pageKey(url), await copy(response, {}));
}

async function savedPage(url) {
  const key = pageKey(url);
  for (const name of [RUNTIME, PRECACHE]) {
    const found = await (await caches.open(name)).match(key, { ignoreSearch: true, ignoreVary: true });
    if (found) return found;
  }
  return null;
}

async function markSaved(response) {
  return copy(response, { "Server-Timing": SAVED_COPY_TIMING });
}

async function cacheFirst(event) {
  const request = event.request;
  const cached = await caches.match(request, { ignoreVary: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (isStorable(response)) {
    const stored = response.clone();
    event.waitUntil(caches.open(RUNTIME).then((cache) => cache.put(request, stored)));
  }
  return response;
}

// --- the offline outbox (the page keeps the same queue; see static/js/pwa.js) ------------------

self.addEventListener("sync", (event) => {
  if (event.tag === self.fitspotOutbox.SYNC_TAG) event.waitUntil(replayOutbox());
});

async function tellPages(entry, status, data) {
  const windows = await self.clients.matchAll({ type: "window" });
  for (const client of windows) client.postMessage({ type: "OUTBOX_DELIVERED", entry, status, data });
}

async function replayOutbox() {
  const waiting = await self.fitspotOutbox.replay(tellPages);
  // Rejecting tells the browser to try the sync again later.
  if (waiting) throw new Error(`outbox: ${waiting} request(s) still waiting`);
}
