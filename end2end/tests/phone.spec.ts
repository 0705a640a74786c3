import { test, expect } from './fixtures/test';
import { DETAILED_DESCRIPTION, uniqueTitle } from './fixtures/data';
import { DashboardPage } from './fixtures/dashboard_page';
import { TaskPage } from './fixtures/task_page';
import type { Locator, Page } from '@playwright/test';

const PHONE = { width: 375, height: 740 };

async function expectNoSidewaysScroll(page: Page): Promise<void> {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width, 'nothing sticks out sideways').toBeLessThanOrEqual(PHONE.width);
}

async function expectOnScreen(locator: Locator): Promise<void> {
  await expect(locator).toBeVisible();
  // Rows are redrawn as tasks move on: measure until one stays put long enough.
  await expect
    .poll(async () => {
      const box = await locator.boundingBox();
      return box !== null && box.x >= 0 && box.x + box.width <= PHONE.width;
    }, { message: 'inside the screen, side to side' })
    .toBe(true);
}

test('on a 375 px phone the dashboard is a list of cards and the task page fits', async ({ newSession }) => {
  const { page, api } = await newSession({ name: 'pia' });
  await page.setViewportSize(PHONE);
  const title = uniqueTitle('A rather long title that has to wrap on a phone screen somehow');
  const task = await api.createTask(title, DETAILED_DESCRIPTION);
  await api.waitForStatus(task.id, 'dispatched');

  const dashboard = new DashboardPage(page);
  await dashboard.goto();
  await dashboard.waitUntilLive();
  const row = dashboard.row(task.id);
  await expect(row).toBeVisible();
  expect(await row.evaluate((el) => getComputedStyle(el).display)).toBe('grid');
  await expect(page.locator('table.tasks thead')).not.toBeInViewport();
  await expectOnScreen(row);
  await expectOnScreen(dashboard.taskLink(row));
  await expectOnScreen(dashboard.statusBadge(row));
  await expectOnScreen(dashboard.totalCount);
  await expectNoSidewaysScroll(page);

  // Live on a phone too.
  const next = await api.createTask(uniqueTitle('Arrives on the phone'), DETAILED_DESCRIPTION);
  await expectOnScreen(dashboard.row(next.id));

  await dashboard.taskLink(row).click();
  const taskPage = new TaskPage(page);
  await expect(taskPage.title).toHaveText(title);
  await expectOnScreen(taskPage.title);
  await expectOnScreen(taskPage.status);
  await expectOnScreen(taskPage.timeline);
  await expectNoSidewaysScroll(page);
});
