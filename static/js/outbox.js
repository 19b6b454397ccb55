// The outbox: forms sent while offline, kept in IndexedDB until they reach the server.
//
// One classic script for both sides: the page loads it before pwa.js (<script defer>) and the
// service worker with importScripts(), so the page's replay (on `online` and on load) and the
// worker's (Background Sync) are the same code. Both take the same Web Lock: one sender at a
// time, and the server applies each Idempotency-Key once however often an entry is sent.
"use strict";

self.fitspotOutbox = (() => {
  const DB = { name: "fitspot", store: "outbox", version: 1 };
  const LOCK = "fitspot-outbox";
  const SYNC_TAG = "fitspot-outbox";

  function open() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB.name, DB.version);
      request.onupgradeneeded = () => request.result.createObjectStore(DB.store, { keyPath: "key" });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async function transact(mode, operation) {
    const db = await open();
    try {
      return await new Promise((resolve, reject) => {
        const transaction = db.transaction(DB.store, mode);
        const request = operation(transaction.objectStore(DB.store));
        transaction.oncomplete = () => resolve(request.result);
        transaction.onerror = () => reject(transaction.error);
        transaction.onabort = () => reject(transaction.error);
      });
    } finally {
      db.close();
    }
  }

  /** Keep a request ({url, body, key}) until it can be sent. */
  function keep(request) {
    const entry = { url: request.url, body: request.body, key: request.key, createdAt: new Date().toISOString() };
    return transact("readwrite", (store) => store.put(entry));
  }

  // Sent, or refused for good (a 4xx other than 408/425/429 will never succeed): drop it.
  function isFinal(status) {
    return (status >= 200 && status < 300) || (status >= 400 && status < 500 && ![408, 425, 429].includes(status));
  }

  function send(entry) {
    return fetch(entry.url, {
      method: "POST",
      body: entry.body,
      headers: {
        Accept: "application/json",
        "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
        "Idempotency-Key": entry.key,
      },
      credentials: "same-origin",
      cache: "no-store",
    });
  }

  /**
   * Send every kept request, oldest first; call `delivered(entry, status, data)` for each one
   * the server answered for good. Resolve to how many still wait (0: the outbox is empty).
   */
  function replay(delivered) {
    const run = async () => {
      let waiting = 0;
      const entries = await transact("readonly", (store) => store.getAll());
      entries.sort((a, b) => a.createdAt.localeCompare(b.createdAt)); // in the order they were made
      for (const entry of entries) {
        if (new URL(entry.url).origin !== self.location.origin) continue;
        let response;
        try {
          response = await send(entry);
        } catch {
          return waiting + 1; // still offline: the rest waits too
        }
        if (!isFinal(response.status)) {
          waiting += 1;
          continue;
        }
        await transact("readwrite", (store) => store.delete(entry.key));
        let data = null;
        try {
          data = await response.json();
        } catch {
          data = null;
        }
        await delivered(entry, response.status, data);
      }
      return waiting;
    };
    return self.navigator.locks ? self.navigator.locks.request(LOCK, run) : run();
  }

  return { keep, replay, SYNC_TAG };
})();
