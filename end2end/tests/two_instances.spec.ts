import type { Browser } from '@playwright/test';
import { test, expect } from './fixtures/test';
import { TaskwireApi } from './fixtures/api';
import { DETAILED_DESCRIPTION, newCredentials, uniqueTitle } from './fixtures/data';
import { DashboardPage } from './fixtures/dashboard_page';
import type { ConsoleGuard } from './fixtures/console_guard';
import { TaskwireServer } from './fixtures/server';

/**
 * Two servers on one Postgres, as behind a load balancer: a person on each sees what
 * the other does, live. scripts/test.sh makes the database and names it in
 * TASKWIRE_E2E_POSTGRES_URL; without it the spec is skipped (a failure under CI).
 */
const DATABASE_URL = process.env.TASKWIRE_E2E_POSTGRES_URL;

const servers = [3102, 3103].map(
  (port) => new TaskwireServer({ port, env: DATABASE_URL ? { TASKWIRE_DATABASE_URL: DATABASE_URL } : {} }),
);

test.skip(!DATABASE_URL && !process.env.CI, 'needs TASKWIRE_E2E_POSTGRES_URL (scripts/test.sh sets it)');

test.beforeAll(async () => {
  if (!DATABASE_URL) {
    throw new Error('CI runs this spec: TASKWIRE_E2E_POSTGRES_URL must name a Postgres database');
  }
  await Promise.all(servers.map((server) => server.start()));
});

test.afterAll(async () => {
  await Promise.all(servers.map((server) => server.dispose()));
});

async function sessionOn(browser: Browser, server: TaskwireServer, name: string, guard: ConsoleGuard) {
  const context = await browser.newContext({ baseURL: server.baseURL });
  guard.watchContext(context, name);
  const api = new TaskwireApi(context.request, server.baseURL);
  await api.signUp(newCredentials(name));
  const page = await context.newPage();
  return { context, api, page };
}

test('people on two servers see each other’s changes live', async ({ browser, consoleGuard }) => {
  const [a, b] = servers;
  const erin = await sessionOn(browser, a, 'erin', consoleGuard);
  const frank = await sessionOn(browser, b, 'frank', consoleGuard);
  try {
    const onA = new DashboardPage(erin.page);
    const onB = new DashboardPage(frank.page);
    await Promise.all([onA.goto(), onB.goto()]);
    await Promise.all([onA.waitUntilLive(), onB.waitUntilLive()]);
    const [documentA, documentB] = await Promise.all([onA.markDocument(), onB.markDocument()]);

    // Erin writes on server a; Frank, on server b, sees the row arrive and move on.
    const fromA = await erin.api.createTask(uniqueTitle('From a'), DETAILED_DESCRIPTION);
    await expect(onB.row(fromA.id)).toBeVisible();
    await expect(onB.statusBadge(onB.row(fromA.id))).toHaveAttribute('data-status', 'dispatched');

    // And the other way round.
    const fromB = await frank.api.createTask(uniqueTitle('From b'), DETAILED_DESCRIPTION);
    await expect(onA.row(fromB.id)).toBeVisible();
    await expect(onA.statusBadge(onA.row(fromB.id))).toHaveAttribute('data-status', 'dispatched');

    // Both pages show the two rows in the same order, without a reload.
    const ours = [String(fromA.id), String(fromB.id)];
    const ids = async (page: DashboardPage) =>
      (await page.rows.evaluateAll((rows) => rows.map((row) => row.getAttribute('data-task-id')))).filter(
        (id): id is string => id !== null && ours.includes(id),
      );
    expect(await ids(onA)).toEqual([String(fromB.id), String(fromA.id)]);
    expect(await ids(onB)).toEqual(await ids(onA));
    await onA.expectSameDocument(documentA);
    await onB.expectSameDocument(documentB);
  } finally {
    await Promise.all([erin.context.close(), frank.context.close()]);
  }
});
