// The front desk's service worker (docs/front-desk.md, Offline). Served from /sw.js so its
// scope is the whole site; it answers only the front-desk pages and the static files, from the
// network first and from its cache when the network is down. offline.js fills the cache with
// the pages (explicitly, so no page showing someone's "Welcome" is ever kept) and wipes it at
// logout and after 24 hours. Plain JavaScript, no build step.
"use strict";
const VERSION = "{{ version }}";
const PAGES = "programdesk-pages";
const STATIC = "programdesk-static-" + VERSION;
const STATIC_FILES = {{ static|safe }};
const FRONT_DESK = /^\/(kiosk\/(\d+\/)?|sessions\/\d+\/|benefits\/\d+\/bulk\/)$/;

// A walk-in page's copy is its walk-in mode's: another mode is not answered from it.
function keptFor(url) {
  const mode = url.searchParams.get("mode");
  return FRONT_DESK.test(url.pathname)
    && (!url.pathname.startsWith("/benefits/") || !mode || mode === "walk_in");
}

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(STATIC).then((cache) => cache.addAll(STATIC_FILES))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((names) => Promise.all(names
    .filter((name) => name.startsWith("programdesk-static-") && name !== STATIC)
    .map((name) => caches.delete(name)))).then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && keptFor(url)) {
    // The page without its query (a search typed offline is answered by offline.js).
    event.respondWith(fetch(request).catch(() => caches.open(PAGES)
      .then((cache) => cache.match(url.pathname))
      .then((cached) => cached || new Response(
        "<!doctype html><meta charset=utf-8><title>Offline</title>" +
        "<p>Offline: this page was not saved on this device.</p>" +
        "<p><a href=\"/kiosk/\">Check-in</a></p>",
        {status: 503, headers: {"Content-Type": "text/html; charset=utf-8"}}))));
    return;
  }
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(fetch(request).then((response) => {
      if (response.ok) {
        const copy = response.clone();
        caches.open(STATIC).then((cache) => cache.put(request, copy));
      }
      return response;
    }).catch(() => caches.match(request).then((cached) => cached || Response.error())));
  }
});
