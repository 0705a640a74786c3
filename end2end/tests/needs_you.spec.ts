import type { Page } from '@playwright/test';
import { test, expect } from './fixtures/test';
import { DETAILED_ANSWER, DETAILED_DESCRIPTION, VAGUE_DESCRIPTION, uniqueTitle } from './fixtures/data';
import { DashboardPage } from './fixtures/dashboard_page';

interface Sent {
  title: string;
  body?: string;
  tag?: string;
}

/**
 * Stands a recording `Notification` in for the browser's, with the given permission, and
 * lets the test say whether the tab is being looked at.
 */
async function fakeNotifications(page: Page, permission: 'granted' | 'default'): Promise<void> {
  await page.addInitScript((initial) => {
    const sent: Sent[] = [];
    class FakeNotification {
      static permission: string = initial;
      static requestPermission(): Promise<string> {
        FakeNotification.permission = 'granted';
        return Promise.resolve('granted');
      }
      onclick: unknown = null;
      constructor(title: string, options?: { body?: string; tag?: string }) {
        sent.push({ title, body: options?.body, tag: options?.tag });
      }
      close(): void {}
    }
    const w = window as unknown as Record<string, unknown>;
    w.Notification = FakeNotification;
    w.taskwireSentNotifications = sent;
    Object.defineProperty(document, 'visibilityState', {
      configurable: true,
      get: () => (w.taskwireVisibility as string | undefined) ?? 'visible',
    });
  }, permission);
}

async function sent(page: Page): Promise<Sent[]> {
  return page.evaluate(
    () => (window as unknown as { taskwireSentNotifications: Sent[] }).taskwireSentNotifications,
  );
}

async function setBackground(page: Page, hidden: boolean): Promise<void> {
  await page.evaluate((h) => {
    (window as unknown as Record<string, unknown>).taskwireVisibility = h ? 'hidden' : 'visible';
  }, hidden);
}

test('tasks waiting for the viewer show in the header and the tab title, and notify in the background', async ({
  newSession,
}) => {
  const me = await newSession({ name: 'lena' });
  const other = await newSession({ name: 'moe' });
  await fakeNotifications(me.page, 'granted');
  const dashboard = new DashboardPage(me.page);
  const badge = me.page.getByTestId('waiting-badge');
  const count = me.page.getByTestId('waiting-count');

  await dashboard.goto();
  await dashboard.waitUntilLive();
  await expect(badge).toHaveCount(0);
  await expect(me.page).toHaveTitle('Dashboard · taskwire');

  // Somebody else's questions are not mine to answer.
  const theirs = await other.api.createTask(uniqueTitle('Their vague'), VAGUE_DESCRIPTION);
  await other.api.waitForStatus(theirs.id, 'needs_clarification');

  // Mine, while I look at the tab: the badge and the title count it, nothing pops up.
  const first = await me.api.createTask(uniqueTitle('First vague'), VAGUE_DESCRIPTION);
  await me.api.waitForStatus(first.id, 'needs_clarification');
  await expect(count).toHaveText('1');
  await expect(badge).toHaveAttribute('title', '1 task waits for your answers');
  await expect(me.page).toHaveTitle('(1) Dashboard · taskwire');

  // In the background, a new one also notifies, once, with its title.
  await setBackground(me.page, true);
  const second = await me.api.createTask(uniqueTitle('Second vague'), VAGUE_DESCRIPTION);
  await me.api.waitForStatus(second.id, 'needs_clarification');
  await expect(count).toHaveText('2');
  await expect(me.page).toHaveTitle('(2) Dashboard · taskwire');
  await expect.poll(async () => (await sent(me.page)).length).toBe(1);
  expect((await sent(me.page))[0]).toEqual({
    title: 'A task waits for your answers',
    body: second.title,
    tag: `taskwire-task-${second.id}`,
  });
  await setBackground(me.page, false);

  // A task of mine that goes straight through changes nothing here.
  const clear = await me.api.createTask(uniqueTitle('Clear'), DETAILED_DESCRIPTION);
  await me.api.waitForStatus(clear.id, 'dispatched');

  // Answered elsewhere, a task stops waiting: the count follows, live.
  await me.api.answerQuestions(first.id, DETAILED_ANSWER);
  await me.api.waitForStatus(first.id, 'dispatched');
  await expect(count).toHaveText('1');
  await expect(me.page).toHaveTitle('(1) Dashboard · taskwire');
  expect(await sent(me.page)).toHaveLength(1);

  // The badge opens the view of what waits: just that task.
  await badge.click();
  await expect(me.page).toHaveURL(/\/\?status=needs_clarification&mine=1$/);
  await expect(dashboard.rows).toHaveCount(1);
  await expect(dashboard.row(second.id)).toBeVisible();

  // On the task's own page, rendered by the server, the badge is there; answering
  // there takes it away.
  await me.page.goto(`/tasks/${second.id}`);
  await expect(count).toHaveText('1');
  await expect(me.page).toHaveTitle(/^\(1\) /);
  await dashboard.waitUntilLive();
  await me.api.answerQuestions(second.id, DETAILED_ANSWER);
  await expect(badge).toHaveCount(0);
  await expect(me.page).not.toHaveTitle(/^\(/);
});

test('the viewer can allow notifications from the header', async ({ newSession }) => {
  const me = await newSession({ name: 'nina' });
  await fakeNotifications(me.page, 'default');
  const dashboard = new DashboardPage(me.page);
  await dashboard.goto();
  await dashboard.waitUntilHydrated();
  const allow = me.page.getByTestId('enable-notifications');
  await expect(allow).toBeVisible();
  await allow.click();
  await expect(allow).toHaveCount(0);
  expect(await me.page.evaluate(() => Notification.permission)).toBe('granted');
});

test('the count leaves the tab title together with the header that showed it', async ({ newSession }) => {
  const me = await newSession({ name: 'nora' });
  const dashboard = new DashboardPage(me.page);
  await dashboard.goto();
  await dashboard.waitUntilLive();

  // The count changes while the page lives.
  const first = await me.api.createTask(uniqueTitle('First vague'), VAGUE_DESCRIPTION);
  await me.api.waitForStatus(first.id, 'needs_clarification');
  await expect(me.page).toHaveTitle('(1) Dashboard · taskwire');
  const second = await me.api.createTask(uniqueTitle('Second vague'), VAGUE_DESCRIPTION);
  await me.api.waitForStatus(second.id, 'needs_clarification');
  await expect(me.page).toHaveTitle('(2) Dashboard · taskwire');

  // On to a page without the header's badge, in the same page life (the router follows
  // the link): the title no longer counts.
  await me.page.evaluate(() => {
    const link = document.createElement('a');
    link.href = '/login';
    link.dataset.testid = 'to-sign-in';
    link.textContent = 'to sign in';
    document.body.appendChild(link);
  });
  await me.page.getByTestId('to-sign-in').click();
  await expect(me.page).toHaveURL(/\/login$/);
  await expect(me.page.getByTestId('waiting-badge')).toHaveCount(0);
  await expect(me.page).toHaveTitle('Sign in · taskwire');
});
