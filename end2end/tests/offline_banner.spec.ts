import { test, expect } from './fixtures/test';
import { DashboardPage } from './fixtures/dashboard_page';
import type { WebSocketRoute } from '@playwright/test';

test('a blip does not flash the banner; a lasting outage shows it, with the next try', async ({
  newSession,
  consoleGuard,
}) => {
  test.setTimeout(90_000);
  const { page } = await newSession({ name: 'otto' });
  let refuse = false;
  let current: WebSocketRoute | undefined;
  await page.routeWebSocket(/\/ws$/, (ws) => {
    if (refuse) {
      ws.close({ code: 1011, reason: 'network trouble' });
    } else {
      current = ws;
      ws.connectToServer();
    }
  });
  const trouble = consoleGuard.tolerate([/WebSocket/, /Failed to load resource/]);
  const dashboard = new DashboardPage(page);
  await dashboard.goto();
  await dashboard.waitUntilLive();
  const banner = page.getByTestId('offline-banner');

  // Every moment the banner is in the page is noted from inside it.
  await page.evaluate(() => {
    const seen: number[] = [];
    Object.assign(window, { bannerSeen: seen });
    new MutationObserver(() => {
      if (document.querySelector('[data-testid="offline-banner"]')) seen.push(Date.now());
    }).observe(document.body, { childList: true, subtree: true });
  });
  const bannerSeen = () =>
    page.evaluate(() => (window as unknown as { bannerSeen: number[] }).bannerSeen.length);

  // A blip: the network drops the socket, and the next one gets straight through.
  current?.close({ code: 1006, reason: 'blip' });
  await dashboard.expectConnectionState(/reconnecting|connecting/);
  await dashboard.expectConnectionState('connected');
  await page.waitForTimeout(3_000);
  expect(await bannerSeen(), 'no banner for a blip').toBe(0);

  // A lasting outage: sockets are refused and the server cannot be reached over HTTP.
  refuse = true;
  await page.route('**/api/live**', (route) => route.abort('connectionrefused'));
  current?.close({ code: 1006, reason: 'outage' });
  await expect(banner).toBeVisible({ timeout: 30_000 });
  await expect(banner).toContainText('nothing will be missed');
  await expect(page.getByTestId('next-retry')).toContainText(/Trying again (in \d+ s\.|now)/);

  // Back: the banner goes, and the page is live again.
  refuse = false;
  await page.unroute('**/api/live**');
  await dashboard.expectConnectionState('connected', 30_000);
  await expect(banner).toHaveCount(0);
  trouble.end();
});
