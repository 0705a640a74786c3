import { test, expect } from './fixtures/test';
import { DETAILED_DESCRIPTION, uniqueTitle } from './fixtures/data';
import { DashboardPage } from './fixtures/dashboard_page';
import { TaskPage } from './fixtures/task_page';
import type { Locator } from '@playwright/test';

/** Relative luminance (0 black … 1 white) of a CSS `rgb(…)` colour. */
function luminance(color: string): number {
  const [r, g, b] = (color.match(/[\d.]+/g) ?? []).slice(0, 3).map((c) => {
    const v = Number(c) / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * (r ?? 0) + 0.7152 * (g ?? 0) + 0.0722 * (b ?? 0);
}

/**
 * An element's computed style. A live update may replace the element between finding
 * it and reading it, and a detached element has no computed style: read again then.
 */
async function style(locator: Locator, property: string): Promise<string> {
  let value = '';
  await expect
    .poll(async () => {
      value = await locator.evaluate((el, p) => getComputedStyle(el).getPropertyValue(p), property);
      return value;
    })
    .not.toBe('');
  return value;
}

test('a dark theme for those who prefer one, with readable contrast', async ({ newSession }) => {
  const { page, api } = await newSession({ name: 'kim' });
  await api.createTask(uniqueTitle('Themed'), DETAILED_DESCRIPTION);
  const dashboard = new DashboardPage(page);

  await page.emulateMedia({ colorScheme: 'light' });
  await dashboard.goto();
  await dashboard.waitUntilLive();
  const root = page.locator('html');
  const body = page.locator('body');
  expect(luminance(await style(root, 'background-color'))).toBeGreaterThan(0.8);

  await page.emulateMedia({ colorScheme: 'dark' });
  const background = luminance(await style(root, 'background-color'));
  const text = luminance(await style(body, 'color'));
  expect(background).toBeLessThan(0.05);
  // WCAG contrast ratio of body text on the page: at least 4.5:1.
  expect((text + 0.05) / (background + 0.05)).toBeGreaterThan(4.5);
  const row = dashboard.rows.first();
  expect(luminance(await style(page.locator('table.tasks'), 'background-color'))).toBeLessThan(0.05);
  const badge = dashboard.statusBadge(row);
  const badgeText = luminance(await style(badge, 'color'));
  expect((badgeText + 0.05) / (background + 0.05)).toBeGreaterThan(4.5);
});

test('new rows and status changes are highlighted, and nothing moves under reduced motion', async ({
  newSession,
}) => {
  const { page, api } = await newSession({ name: 'lee' });
  const dashboard = new DashboardPage(page);
  const taskPage = new TaskPage(page);

  for (const motion of ['no-preference', 'reduce'] as const) {
    await page.emulateMedia({ reducedMotion: motion });
    const moves = motion === 'no-preference';
    await dashboard.goto();
    await dashboard.waitUntilLive();
    const task = await api.createTask(uniqueTitle(`Motion ${motion}`), DETAILED_DESCRIPTION);
    const row = dashboard.row(task.id);
    await expect(row).toHaveClass(/fresh/);
    // Rows are re-rendered as the pipeline moves them on: ask until one answers.
    await expect.poll(() => style(row, 'animation-name')).toBe(moves ? 'flash' : 'none');
    await api.waitForStatus(task.id, 'dispatched');

    await taskPage.goto(task.id);
    await taskPage.waitUntilLive();
    await api.reportStatus(task.id, { status: 'coding' });
    await expect(taskPage.status).toHaveAttribute('data-status', 'coding');
    await expect(taskPage.status).toHaveClass(/changed/);
    await expect.poll(() => style(taskPage.status, 'animation-name')).toBe(moves ? 'pulse' : 'none');
  }
});

test('times read relative, tick, and give the exact time on hover and focus', async ({ newSession }) => {
  const { page, api } = await newSession({ name: 'max' });
  const task = await api.createTask(uniqueTitle('Timed'), DETAILED_DESCRIPTION);
  const taskPage = new TaskPage(page);
  await taskPage.goto(task.id);
  await taskPage.waitUntilLive();
  const time = taskPage.timelineEntries.first().locator('time');
  await expect(time).toHaveText('just now');
  await expect(time).toHaveAttribute('title', /^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);
  await expect(time).toHaveAttribute('datetime', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  // From the keyboard: focus shows the exact time beside the relative one.
  await page.locator('body').click({ position: { x: 1, y: 1 } });
  for (let i = 0; i < 40 && !(await time.evaluate((el) => el === document.activeElement)); i += 1) {
    await page.keyboard.press('Tab');
  }
  await expect(time).toBeFocused();
  const shown = await time.evaluate((el) => getComputedStyle(el, '::after').content);
  expect(shown).toMatch(/UTC\)"$/);
});

test('a title or name in a right-to-left script, or with direction controls, keeps to its own box', async ({
  newSession,
}) => {
  const { page, api } = await newSession({ name: 'noor' });
  // A right-to-left override left open would turn the rest of the row around.
  const override = await api.createTask(uniqueTitle('\u202Eevil override'), DETAILED_DESCRIPTION);
  const dashboard = new DashboardPage(page);
  await dashboard.goto();
  await dashboard.waitUntilLive();
  // Rendered on the server, then live.
  const hebrew = await api.createTask(`שלום ${uniqueTitle('rtl')}`, DETAILED_DESCRIPTION);
  for (const id of [override.id, hebrew.id]) {
    const row = dashboard.row(id);
    await expect(row).toBeVisible();
    expect(await style(dashboard.taskLink(row), 'unicode-bidi')).toBe('isolate');
    expect(await style(row.getByTestId('task-creator'), 'unicode-bidi')).toBe('isolate');
  }
  expect(await style(dashboard.taskLink(dashboard.row(hebrew.id)), 'direction')).toBe('rtl');
  expect(await style(dashboard.taskLink(dashboard.row(override.id)), 'direction')).toBe('ltr');

  const taskPage = new TaskPage(page);
  await taskPage.goto(hebrew.id);
  await taskPage.waitUntilLive();
  expect(await style(taskPage.title, 'unicode-bidi')).toBe('isolate');
  expect(await style(taskPage.title, 'direction')).toBe('rtl');
  expect(await style(page.getByTestId('task-creator'), 'unicode-bidi')).toBe('isolate');
  expect(await style(taskPage.timelineEntries.first().locator('.timeline-text'), 'unicode-bidi')).toBe('isolate');
});
