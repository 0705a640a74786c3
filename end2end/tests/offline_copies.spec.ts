import { test, expect } from './fixtures/test';
import { TaskwireApi } from './fixtures/api';
import { DETAILED_DESCRIPTION, newCredentials, uniqueTitle } from './fixtures/data';
import { LoginPage } from './fixtures/login_page';
import { OFFLINE_ERRORS, isControlled, isKept, waitUntilKeptForOffline } from './fixtures/offline';
import { TaskPage } from './fixtures/task_page';
import type { Page } from '@playwright/test';

// The service worker keeps a copy of each page for offline use. A copy shows the account
// that was signed in when it was made, so it must not outlive that account's session in
// this browser: whoever uses the browser next must not be shown it, not even offline.

/** Opens a new task's page and waits until the worker keeps a copy of it; its URL. */
async function keepTaskPage(page: Page, api: TaskwireApi, title: string): Promise<string> {
  const task = await api.createTask(title, DETAILED_DESCRIPTION);
  const taskPage = new TaskPage(page);
  await taskPage.goto(task.id);
  await taskPage.waitUntilLive();
  await waitUntilKeptForOffline(page);
  return page.url();
}

/** Once the page it went to has loaded: the copy of `url` is gone. */
async function expectCopyDropped(page: Page, url: string): Promise<void> {
  await page.waitForLoadState('load');
  // A look taken while the page is still being replaced fails; it counts as "not yet".
  await expect
    .poll(
      async () =>
        (await isControlled(page).catch(() => false)) && !(await isKept(page, url).catch(() => true)),
      {
        message: `the worker should control the page, and the copy of ${url} should be dropped`,
        timeout: 15_000,
      },
    )
    .toBe(true);
}

test('signing out drops the copies of pages, so they are not shown offline afterwards', async ({
  newSession,
  consoleGuard,
}) => {
  test.setTimeout(90_000);
  const author = await newSession({ name: 'lena' });
  const title = uniqueTitle('Kept until sign-out');
  const taskUrl = await keepTaskPage(author.page, author.api, title);

  await author.page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(author.page).toHaveURL(/\/login/);
  await expectCopyDropped(author.page, taskUrl);

  // Offline, the page is not there to be shown to whoever uses this browser next.
  const offline = consoleGuard.tolerate([...OFFLINE_ERRORS, /FetchEvent/, /ERR_FAILED/]);
  await author.context.setOffline(true);
  await author.page.goto(taskUrl).catch(() => undefined);
  await expect(author.page.getByText(title)).toHaveCount(0);
  await author.context.setOffline(false);
  offline.end();
});

test('signing in as someone else drops the copies of the pages the last account was shown', async ({
  newSession,
  request,
  baseURL,
}) => {
  test.setTimeout(90_000);
  const first = await newSession({ name: 'milo' });
  const taskUrl = await keepTaskPage(first.page, first.api, uniqueTitle('Kept until the next sign-in'));

  const next = newCredentials('nora');
  await new TaskwireApi(request, baseURL!).signUp(next);
  const login = new LoginPage(first.page);
  await login.goto();
  await login.waitUntilHydrated();
  await login.logIn(next);
  await expect(first.page).toHaveURL(/\/$/);
  await expectCopyDropped(first.page, taskUrl);
});
