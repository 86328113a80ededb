// Service worker of the offline meeting book. Served from /sw.js with scope "/".
// The page fills the cache "plenary-book-<meeting>" (reader.js, takeBook); this
// worker answers from it: documents first from the cache (their URLs name the
// version, so they never change), everything else from the network first and
// from the cache when the network is gone. Deleting the cache (revocation,
// logout) is done by the page at its next connection; a tablet whose session is
// gone lands on the login page instead, where no meeting page runs, so this worker
// deletes the books the server no longer lets this browser read before it answers.
"use strict";

const BOOK_PREFIX = "plenary-book-";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

async function bookCaches() {
  const names = (await caches.keys()).filter((name) => name.startsWith(BOOK_PREFIX));
  return Promise.all(names.map((name) => caches.open(name)));
}

async function fromBook(request) {
  for (const cache of await bookCaches()) {
    const hit = await cache.match(request, {ignoreVary: true});
    if (hit) return hit;
  }
  return null;
}

// PDF.js asks for byte ranges; a cached document answers them from its copy.
async function ranged(request, response) {
  const range = request.headers.get("range");
  const match = range && /^bytes=(\d+)-(\d*)$/.exec(range);
  if (!match) return response;
  const data = await response.arrayBuffer();
  const start = Number(match[1]);
  const end = match[2] ? Math.min(Number(match[2]), data.byteLength - 1) : data.byteLength - 1;
  return new Response(data.slice(start, end + 1), {status: 206, headers: {
    "content-type": "application/pdf", "accept-ranges": "bytes",
    "content-range": `bytes ${start}-${end}/${data.byteLength}`,
    "content-length": String(end - start + 1)}});
}

// Cache Storage is changed one change at a time, with the pages (reader.js). A page
// that took a large book may hold the lock for long; the login page does not wait
// for it more than LOCK_WAIT_MS (what such a page adds then, the server refuses).
const LOCK_WAIT_MS = 3000;

async function serially(job) {
  if (!self.navigator.locks) return job();
  try {
    return await self.navigator.locks.request("plenary-book", {signal: AbortSignal.timeout(LOCK_WAIT_MS)}, job);
  } catch (err) {
    if (err && (err.name === "TimeoutError" || err.name === "AbortError")) return job();
    throw err;
  }
}

// Asks the server, for each meeting whose book is kept, whether this browser may
// still read it (logged out, session ended, or now logged in to another meeting:
// it may not) and deletes those books. Offline, the server cannot say: keep them.
async function dropBooksNoLongerAllowed() {
  await serially(async () => {
    for (const name of await caches.keys()) {
      if (!name.startsWith(BOOK_PREFIX)) continue;
      const meeting = encodeURIComponent(name.slice(BOOK_PREFIX.length));
      let response;
      try {
        response = await fetch(`/api/meetings/${meeting}/library`, {credentials: "same-origin",
          cache: "no-store", headers: {accept: "application/json"}});
      } catch (err) { continue; }
      if (response.status === 401 || response.status === 403) await caches.delete(name);
    }
  });
}

async function answer(request) {
  const url = new URL(request.url);
  if (request.mode === "navigate" && url.pathname === "/login") {
    try { await dropBooksNoLongerAllowed(); } catch (err) { /* the login page still opens */ }
    return fetch(request);
  }
  if (url.pathname.startsWith("/documents/")) {
    // a request that must reach the server (the page adding to its book) skips the book
    const toServer = request.cache === "reload" || request.cache === "no-store";
    const hit = toServer ? null : await fromBook(new Request(url.href));
    if (hit) return ranged(request, hit);
    return fetch(request);
  }
  try {
    return await fetch(request);
  } catch (err) {
    const hit = await fromBook(request);
    if (hit) return hit;
    throw err;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  if (new URL(request.url).pathname === "/ws") return;
  event.respondWith(answer(request));
});
