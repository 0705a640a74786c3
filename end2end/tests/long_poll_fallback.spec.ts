import { test, expect } from './fixtures/test';
import { DETAILED_DESCRIPTION, uniqueTitle } from './fixtures/data';
import { DashboardPage } from './fixtures/dashboard_page';

/** What Chromium may log while its WebSocket is refused. */
const BLOCKED_SOCKET_ERRORS = [/WebSocket/];

test('with WebSockets blocked the dashboard stays live over long-polling, and moves back', async ({
  newSession,
  consoleGuard,
}) => {
  test.setTimeout(120_000);
  const author = await newSession({ name: 'erin' });
  const watcher = await newSession({ name: 'frank' });

  // A network that lets the upgrade through and then cuts it, before the server
  // says anything.
  let blocked = true;
  await watcher.page.routeWebSocket(/\/ws$/, (ws) => {
    if (blocked) {
      ws.close({ code: 1011, reason: 'blocked by the test' });
    } else {
      ws.connectToServer();
    }
  });
  const blockedSocket = consoleGuard.tolerate(BLOCKED_SOCKET_ERRORS);

  const dashboard = new DashboardPage(watcher.page);
  await dashboard.goto();
  await dashboard.waitUntilHydrated();
  await dashboard.expectConnectionState('polling', 30_000);
  await expect(dashboard.connectionIndicator).toHaveText(/polling/i);
  const document = await dashboard.markDocument();

  // Another user's change arrives, live, without a socket.
  const first = await author.api.createTask(uniqueTitle('Over polling'), DETAILED_DESCRIPTION);
  await expect(dashboard.row(first.id)).toBeVisible();
  await expect(dashboard.statusBadge(dashboard.row(first.id))).toHaveAttribute('data-status', 'dispatched');

  // The network lets sockets through again: the tab finds out and goes back to one.
  blocked = false;
  await dashboard.expectConnectionState('connected', 60_000);
  blockedSocket.end();
  const second = await author.api.createTask(uniqueTitle('Over the socket'), DETAILED_DESCRIPTION);
  await expect(dashboard.statusBadge(dashboard.row(second.id))).toHaveAttribute('data-status', 'dispatched');

  // One row each, never repeated, and the page was never reloaded.
  await expect(dashboard.row(first.id)).toHaveCount(1);
  await expect(dashboard.row(second.id)).toHaveCount(1);
  await dashboard.expectSameDocument(document);
});
