import * as path from 'node:path';
import { test, expect } from './fixtures/test';
import { DETAILED_DESCRIPTION, VAGUE_DESCRIPTION } from './fixtures/data';
import { DashboardPage } from './fixtures/dashboard_page';
import { useOwnServer } from './fixtures/own_server';
import { PRIVATE_SERVER_PORT } from './fixtures/server';

// A server of its own, so the pictures show only the tasks made for them.
useOwnServer({ port: PRIVATE_SERVER_PORT });


/**
 * The README's pictures, taken of a real dashboard: always into the test results, and
 * into `docs/screenshots/` when `TASKWIRE_UPDATE_SCREENSHOTS=1`.
 */
const TARGET =
  process.env.TASKWIRE_UPDATE_SCREENSHOTS === '1'
    ? path.resolve(__dirname, '../../docs/screenshots')
    : path.resolve(__dirname, '../test-results/screenshots');

test('screenshots of the dashboard: light, dark and phone', async ({ newSession }) => {
  const { page, api } = await newSession({ name: 'sam' });
  const titles = [
    'Retry failed payment webhooks with backoff',
    'Add CSV export to the invoices page',
    'Fix the flaky login test on Safari',
    'Rate-limit the public search endpoint',
  ];
  const tasks = [];
  for (const title of titles) {
    tasks.push(await api.createTask(title, DETAILED_DESCRIPTION));
  }
  const vague = await api.createTask('Make the reports faster', VAGUE_DESCRIPTION);
  for (const task of tasks) {
    await api.waitForStatus(task.id, 'dispatched');
  }
  await api.waitForStatus(vague.id, 'needs_clarification');
  await api.reportStatus(tasks[0]!.id, { status: 'coding', note: 'Agent picked it up' });
  await api.reportStatus(tasks[1]!.id, {
    status: 'pr_open',
    prNumber: 42,
    prUrl: 'https://github.com/example/shop/pull/42',
    prTitle: 'CSV export for invoices',
  });
  await api.reportStatus(tasks[2]!.id, { status: 'failed', reason: 'Could not reproduce' });

  const dashboard = new DashboardPage(page);
  for (const [name, scheme, size] of [
    ['light', 'light', { width: 1100, height: 640 }],
    ['dark', 'dark', { width: 1100, height: 640 }],
    ['phone', 'light', { width: 375, height: 740 }],
  ] as const) {
    await page.setViewportSize(size);
    await page.emulateMedia({ colorScheme: scheme, reducedMotion: 'reduce' });
    await dashboard.goto();
    await dashboard.waitUntilLive();
    await expect(dashboard.rows).toHaveCount(5);
    await page.screenshot({ path: path.join(TARGET, `dashboard-${name}.png`) });
  }
});
