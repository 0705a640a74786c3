import { test, expect } from './fixtures/test';
import { DETAILED_DESCRIPTION, uniqueTitle } from './fixtures/data';
import { DashboardPage } from './fixtures/dashboard_page';
import { useOwnServer } from './fixtures/own_server';

/** Sessions on this server last five seconds, so they expire during the test. */
useOwnServer({ port: 3102, env: { TASKWIRE_SESSION_TTL_SECS: '5' } });


async function sessionCookie(page: import('@playwright/test').Page): Promise<string | undefined> {
  const cookies = await page.context().cookies();
  return cookies.find((c) => c.name === 'taskwire_session')?.value;
}

test('an expired session is refreshed without the user noticing', async ({ newSession }) => {
  const { page, api } = await newSession({ name: 'frank' });
  const dashboard = new DashboardPage(page);
  await dashboard.goto();
  await dashboard.waitUntilLive();
  const document = await dashboard.markDocument();
  const first = await sessionCookie(page);

  // The server closes the socket when the session expires; the page refreshes the
  // session over HTTP and reconnects by itself.
  expect(first).toBeDefined();
  await expect
    .poll(async () => {
      const now = await sessionCookie(page);
      return now !== undefined && now !== first;
    }, { timeout: 15_000, message: 'the session cookie should be renewed, not dropped' })
    .toBe(true);
  await dashboard.expectConnectionState('connected', 15_000);

  const title = uniqueTitle('After refresh');
  const task = await api.createTask(title, DETAILED_DESCRIPTION);
  const row = dashboard.row(task.id);
  await expect(row).toBeVisible();
  await expect(dashboard.taskLink(row)).toHaveText(title);
  await dashboard.expectSameDocument(document);
});

test('a revoked session sends the user to sign in', async ({ newSession, consoleGuard }) => {
  const { page } = await newSession({ name: 'grace' });
  const dashboard = new DashboardPage(page);
  await dashboard.goto();
  await dashboard.waitUntilLive();

  // The refresh is refused with 401, which Chromium reports on the console.
  const refused = consoleGuard.tolerate([/status of 401/]);
  const response = await page.context().request.post('/api/auth/logout');
  expect(response.status()).toBe(204);
  await expect(page).toHaveURL(/\/login$/, { timeout: 15_000 });
  refused.end();
});
