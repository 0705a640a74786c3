import { test, expect } from './fixtures/test';
import { DETAILED_ANSWER, DETAILED_DESCRIPTION, VAGUE_DESCRIPTION, uniqueTitle } from './fixtures/data';
import { DashboardPage } from './fixtures/dashboard_page';

test('a filtered view lives in the URL and its live rows follow the filter', async ({ newSession }) => {
  const author = await newSession({ name: 'erin' });
  const watcher = await newSession({ name: 'frank' });

  const dashboard = new DashboardPage(watcher.page);
  await dashboard.goto();
  await dashboard.waitUntilLive();
  const document = await dashboard.markDocument();

  // The "Needs clarification" card is the filter: the URL says so, without a reload.
  await dashboard.statusFilter('needs_clarification').click();
  await expect(watcher.page).toHaveURL(/\/\?status=needs_clarification$/);
  await expect(dashboard.statusFilter('needs_clarification')).toHaveAttribute('aria-current', 'page');
  await dashboard.waitUntilLive();

  // A task that asks questions enters the view live; one that goes straight through does not.
  const vague = await author.api.createTask(uniqueTitle('Vague'), VAGUE_DESCRIPTION);
  const clear = await author.api.createTask(uniqueTitle('Clear'), DETAILED_DESCRIPTION);
  await author.api.waitForStatus(vague.id, 'needs_clarification');
  await author.api.waitForStatus(clear.id, 'dispatched');
  await expect(dashboard.row(vague.id)).toBeVisible();
  await expect(dashboard.row(clear.id)).toHaveCount(0);
  await expect(dashboard.rows.locator('[data-status]:not([data-status="needs_clarification"])')).toHaveCount(0);

  // "Mine" narrows it to Frank's own tasks: none, and the page says how to get out.
  await dashboard.mineFilter.click();
  await expect(watcher.page).toHaveURL(/status=needs_clarification&mine=1$/);
  await expect(dashboard.empty).toContainText('No tasks match');

  // Back returns to the previous view, rendered again with its rows.
  await watcher.page.goBack();
  await expect(watcher.page).toHaveURL(/\/\?status=needs_clarification$/);
  await expect(dashboard.row(vague.id)).toBeVisible();
  await dashboard.waitUntilLive();

  // Answered, the task no longer needs clarification and leaves the view live.
  await author.api.answerQuestions(vague.id, DETAILED_ANSWER);
  await author.api.waitForStatus(vague.id, 'dispatched');
  await expect(dashboard.row(vague.id)).toHaveCount(0);
  await dashboard.expectSameDocument(document);

  // A shared link renders the same view on first load.
  const fresh = new DashboardPage(author.page);
  await author.page.goto('/?status=dispatched');
  await fresh.waitUntilHydrated();
  await expect(fresh.row(clear.id)).toBeVisible();
  await expect(fresh.statusFilter('dispatched')).toHaveAttribute('aria-current', 'page');
});
