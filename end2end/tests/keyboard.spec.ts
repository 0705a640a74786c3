import type { Page } from '@playwright/test';
import { test, expect } from './fixtures/test';
import { DETAILED_ANSWER, VAGUE_DESCRIPTION } from './fixtures/data';
import { DashboardPage } from './fixtures/dashboard_page';
import { TaskPage } from './fixtures/task_page';

/** What has focus: its test id, or its tag and name. */
async function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el) return '';
    return el.dataset.testid ?? `${el.tagName.toLowerCase()}${el.getAttribute('name') ? `[${el.getAttribute('name')}]` : ''}`;
  });
}

/** Presses Tab until `target` has focus (or gives up), checking each stop shows its focus. */
async function tabTo(page: Page, target: string, limit = 60): Promise<void> {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    // `null` while focus is outside the page (Tab past its last stop wraps around).
    const outline = await page.evaluate(() => {
      const el = document.activeElement;
      return el && el !== document.body ? getComputedStyle(el).outlineStyle : null;
    });
    if (outline !== null) {
      expect(outline, `focus is visible on ${await focused(page)}`).not.toBe('none');
    }
    if ((await focused(page)) === target) return;
  }
  throw new Error(`Tab never reached ${target}`);
}

test('the dashboard and a task page work from the keyboard alone, with focus always visible', async ({
  newSession,
}) => {
  const { page, api } = await newSession({ name: 'kaia' });
  const word = `kb${Date.now().toString(36)}`;
  const task = await api.createTask(`Keyboard ${word}`, VAGUE_DESCRIPTION);
  await api.waitForStatus(task.id, 'needs_clarification');

  const dashboard = new DashboardPage(page);
  await dashboard.goto();
  await dashboard.waitUntilLive();

  // Search: type and press Enter.
  await tabTo(page, 'search-input');
  await page.keyboard.type(word);
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(new RegExp(`q=${word}`));
  await expect(dashboard.rows).toHaveCount(1);
  // A new query on the same page leaves focus where it was.
  expect(await focused(page)).toBe('search-input');

  // A column header sorts with Enter.
  await tabTo(page, 'sort-title');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/sort=title/);

  // The row's link opens the task.
  await tabTo(page, 'task-link');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(new RegExp(`/tasks/${task.id}$`));
  const taskPage = new TaskPage(page);
  await taskPage.waitUntilLive();
  // The link went away with the old page: focus starts at the new page's content.
  await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('content');

  // Answer every question and send, from the keyboard.
  const fields = await taskPage.answerFields.count();
  expect(fields).toBeGreaterThan(0);
  for (let i = 0; i < fields; i++) {
    await tabTo(page, 'textarea[answers]');
    await page.keyboard.type(DETAILED_ANSWER);
  }
  await tabTo(page, 'submit-answers');
  await page.keyboard.press('Enter');
  await api.waitForStatus(task.id, 'dispatched');
  await expect(taskPage.status).toHaveAttribute('data-status', 'dispatched');

  // The header's links are reachable too, from the top of a page.
  await page.reload();
  await taskPage.waitUntilHydrated();
  await tabTo(page, 'nav-account');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/account$/);
});

test('a skip link, first from the top of a page, leads past the header to its content', async ({ newSession }) => {
  const { page } = await newSession({ name: 'skye' });
  const dashboard = new DashboardPage(page);
  await dashboard.goto();
  await dashboard.waitUntilLive();
  const skip = page.getByTestId('skip-link');
  await expect(skip).not.toBeInViewport();
  await page.keyboard.press('Tab');
  expect(await focused(page)).toBe('skip-link');
  await expect(skip).toBeInViewport();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/#content$/);
  expect(await page.evaluate(() => document.activeElement?.id)).toBe('content');
  // The next stop is in the page's content, past the header's links.
  await page.keyboard.press('Tab');
  expect(await page.evaluate(() => document.activeElement?.closest('main') !== null)).toBe(true);
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
});

test('a new page takes focus to its content, and the new-task form to its title', async ({ newSession }) => {
  const { page } = await newSession({ name: 'fern' });
  const dashboard = new DashboardPage(page);
  await dashboard.goto();
  await dashboard.waitUntilLive();

  // Brought by the router, not loaded: the title has focus, ready to type into.
  await tabTo(page, 'nav-new-task');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/tasks\/new$/);
  await expect.poll(() => focused(page)).toBe('input[title]');
  const title = `Focus ${Date.now().toString(36)}`;
  await page.keyboard.type(title);
  await tabTo(page, 'textarea[description]');
  await page.keyboard.type(DETAILED_ANSWER);
  await tabTo(page, 'create-task');
  await page.keyboard.press('Enter');

  // The button is gone with the form; focus starts at the task's page, and the next
  // stop is in it, not back in the header.
  await expect(page).toHaveURL(/\/tasks\/\d+$/);
  await expect(page.getByTestId('task-title')).toHaveText(title);
  await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('content');
  await page.keyboard.press('Tab');
  expect(await page.evaluate(() => document.activeElement?.closest('main') !== null)).toBe(true);
});
