import { test, expect } from './fixtures/test';
import { TaskwireApi } from './fixtures/api';
import { DETAILED_DESCRIPTION, uniqueTitle } from './fixtures/data';
import { DashboardPage } from './fixtures/dashboard_page';
import { useOwnServer } from './fixtures/own_server';
import { PRIVATE_SERVER_PORT } from './fixtures/server';

const server = useOwnServer({ port: PRIVATE_SERVER_PORT });

/** What Chromium logs while the server it was talking to is unreachable. */
const OUTAGE_CONSOLE_ERRORS = [
  /WebSocket connection to .* failed/,
  /ERR_CONNECTION_REFUSED|Failed to load resource/,
];

/** The client backs off up to about five seconds between reconnect attempts. */
const RECOVERY_TIMEOUT_MS = 30_000;


test('the dashboard reconnects by itself after a server restart', async ({
  newSession,
  consoleGuard,
  playwright,
}) => {
  test.setTimeout(120_000);

  const { page, auth } = await newSession({ name: 'erin' });
  const dashboard = new DashboardPage(page);
  await dashboard.goto();
  await dashboard.waitUntilLive();
  const document = await dashboard.markDocument();

  const outage = consoleGuard.tolerate(OUTAGE_CONSOLE_ERRORS);
  await server.stop();
  await dashboard.expectConnectionState(/^(reconnecting|offline)$/, 15_000);

  await server.start();
  const bearerRequest = await playwright.request.newContext();
  try {
    const api = new TaskwireApi(bearerRequest, server.baseURL, auth.token);
    const title = uniqueTitle('After restart');
    const task = await api.createTask(title, DETAILED_DESCRIPTION);

    await dashboard.expectConnectionState('connected', RECOVERY_TIMEOUT_MS);
    outage.end();

    const row = dashboard.row(task.id);
    await expect(row).toBeVisible({ timeout: RECOVERY_TIMEOUT_MS });
    await expect(dashboard.taskLink(row)).toHaveText(title);
    await dashboard.expectSameDocument(document);
  } finally {
    await bearerRequest.dispose();
  }
});
