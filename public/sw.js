// taskwire's service worker: pages and their assets stay readable offline.
//
// Every request goes to the network first, exactly as without this worker; a copy of
// each page and asset that loads is kept, and served only when the network cannot be
// reached. So a reload on a train shows the page as it last was (live again once the
// connection is back), and the actions kept in the outbox are still there to send.
// Nothing else is touched: API calls, server functions and the socket pass straight
// through. Signing in or out empties the copies (see app/src/offline.rs).

const PAGES = 'taskwire-pages-v1';

self.addEventListener('install', () => self.skipWaiting());

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      await self.clients.claim();
      // The page that registered this worker loaded without it: keep a copy of it too.
      const windows = await self.clients.matchAll({ type: 'window' });
      const cache = await caches.open(PAGES);
      await Promise.all(
        windows.map(async (client) => {
          try {
            const response = await fetch(client.url, { credentials: 'same-origin' });
            if (!keepable(response)) return;
            const html = await response.clone().text();
            await cache.put(client.url, response);
            // And what it loads (script, WASM, styles), which came before the worker too.
            const assets = new Set(html.match(/\/pkg\/[\w.-]+/g) ?? []);
            await cache.addAll([...assets, '/favicon.svg']);
          } catch {
            // Offline already: nothing to copy.
          }
        }),
      );
    })(),
  );
});

function keepable(response) {
  // A page that may show a secret once says `no-store`.
  const noStore = (response.headers.get('cache-control') ?? '').includes('no-store');
  return response.ok && response.type === 'basic' && !response.redirected && !noStore;
}

function kept(request) {
  if (request.method !== 'GET') return false;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return false;
  return request.mode === 'navigate' || url.pathname.startsWith('/pkg/') || url.pathname === '/favicon.svg';
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (!kept(request)) return;
  event.respondWith(
    (async () => {
      try {
        const response = await fetch(request);
        if (keepable(response)) {
          const copy = response.clone();
          event.waitUntil(caches.open(PAGES).then((cache) => cache.put(request, copy)));
        }
        return response;
      } catch (offline) {
        const copy = await caches.match(request, { ignoreVary: true });
        if (copy) return copy;
        throw offline;
      }
    })(),
  );
});
