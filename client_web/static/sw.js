// Service worker of the offline meeting book. Served from /sw.js with scope "/".
// The page fills the cache "plenary-book-<meeting>" (reader.js, takeBook); this
// worker answers from it: documents first from the cache (their URLs name the
// version, so they never change), everything else from the network first and
// from the cache when the network is gone. Deleting the cache (revocation,
// logout) is done by the page at its next connection.
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

async function answer(request) {
  const url = new URL(request.url);
  if (url.pathname.startsWith("/documents/")) {
    const hit = await fromBook(new Request(url.href));
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
