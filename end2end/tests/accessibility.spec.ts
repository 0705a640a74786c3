import AxeBuilder from '@axe-core/playwright';
import { test, expect } from './fixtures/test';
import { DETAILED_DESCRIPTION, VAGUE_DESCRIPTION, uniqueTitle } from './fixtures/data';
import type { Page } from '@playwright/test';

/** Serious and critical WCAG 2.1 A/AA violations on the page as it is now. */
async function seriousViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

test('every page passes axe with no serious or critical violations, light and dark', async ({
  page,
  newSession,
}) => {
  test.setTimeout(120_000);
  for (const path of ['/login', '/signup']) {
    await page.goto(path);
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
    expect(await seriousViolations(page), path).toEqual([]);
    await expect(page.getByRole('heading', { level: 1 }), `${path}: one main heading`).toHaveCount(1);
  }

  const { page: signedIn, api } = await newSession({ name: 'quinn' });
  const done = await api.createTask(uniqueTitle('Accessible'), DETAILED_DESCRIPTION);
  const asking = await api.createTask(uniqueTitle('Asks questions'), VAGUE_DESCRIPTION);
  const failed = await api.createTask(uniqueTitle('Fails'), DETAILED_DESCRIPTION);
  await api.waitForStatus(done.id, 'dispatched');
  await api.waitForStatus(asking.id, 'needs_clarification');
  await api.waitForStatus(failed.id, 'dispatched');
  await api.reportStatus(failed.id, { status: 'failed', reason: 'The runner crashed' });
  for (const scheme of ['light', 'dark'] as const) {
    await signedIn.emulateMedia({ colorScheme: scheme });
    for (const path of ['/', '/?status=dispatched', '/?q=accessible&sort=title', '/account', '/tasks/new', `/tasks/${done.id}`, `/tasks/${asking.id}`, `/tasks/${failed.id}`]) {
      await signedIn.goto(path);
      await expect(signedIn.locator('body')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
      await expect(signedIn.getByTestId('conn-indicator')).toHaveAttribute('data-state', 'connected');
      expect(await seriousViolations(signedIn), `${path} (${scheme})`).toEqual([]);
      await expect(signedIn.getByRole('heading', { level: 1 }), `${path}: one main heading`).toHaveCount(1);
    }
  }
});

test('a status change on the task page is announced to screen readers', async ({ newSession }) => {
  const { page, api } = await newSession({ name: 'rae' });
  const task = await api.createTask(uniqueTitle('Announced'), DETAILED_DESCRIPTION);
  await api.waitForStatus(task.id, 'dispatched');
  await page.goto(`/tasks/${task.id}`);
  await expect(page.getByTestId('conn-indicator')).toHaveAttribute('data-state', 'connected', { timeout: 30_000 });
  const announcer = page.getByTestId('status-announcer');
  await expect(announcer).toHaveAttribute('aria-live', 'polite');
  await expect(announcer).toHaveText('Status: Dispatched');
  await api.reportStatus(task.id, { status: 'coding' });
  await expect(announcer).toHaveText('Status: Coding');
});
