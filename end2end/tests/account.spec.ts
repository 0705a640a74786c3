import AxeBuilder from '@axe-core/playwright';
import { test, expect } from './fixtures/test';
import { DETAILED_DESCRIPTION, uniqueTitle } from './fixtures/data';
import { useOwnServer } from './fixtures/own_server';
import { PRIVATE_SERVER_PORT } from './fixtures/server';
import { TaskwireApi } from './fixtures/api';

// A server of its own: the first account made on it is its administrator.
const server = useOwnServer({ port: PRIVATE_SERVER_PORT });

test('an administrator makes and revokes service tokens in the browser; others cannot see them', async ({
  newSession,
  playwright,
}) => {
  const admin = await newSession({ name: 'olga' });
  const member = await newSession({ name: 'pete' });
  const page = admin.page;

  await page.goto('/');
  await page.getByTestId('nav-account').click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId('account-username')).toHaveText(admin.credentials.username);
  await expect(page.getByTestId('account-admin')).toBeVisible();
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });

  await page.getByTestId('token-name').fill('ci-agent');
  await page.getByTestId('create-token').click();
  const token = (await page.getByTestId('new-token').textContent())?.trim() ?? '';
  expect(token).toMatch(/^tw_[0-9a-f]{64}$/);
  const row = page.locator('[data-testid="token-row"][data-name="ci-agent"]');
  await expect(row).toBeVisible();
  await expect(page.getByTestId('tokens')).not.toContainText(token);
  const axe = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  expect(axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)).toEqual([]);

  // An agent reports with it until it is revoked.
  const task = await admin.api.createTask(uniqueTitle('For the agent'), DETAILED_DESCRIPTION);
  await admin.api.waitForStatus(task.id, 'dispatched');
  const agent = await playwright.request.newContext({ baseURL: server.baseURL });
  const report = async () =>
    (
      await agent.post(`/api/tasks/${task.id}/status`, {
        headers: { Authorization: `Bearer ${token}` },
        data: { note: 'Cloned the repository' },
      })
    ).status();
  expect(await report()).toBe(200);
  await row.getByTestId('revoke-token').click();
  await expect(row).toHaveCount(0);
  expect(await report()).toBe(401);
  await agent.dispose();

  // Someone who is not an administrator has an account page without tokens.
  await member.page.goto('/account');
  await expect(member.page.getByTestId('account-username')).toHaveText(member.credentials.username);
  await expect(member.page.getByTestId('account-admin')).toHaveCount(0);
  await expect(member.page.getByRole('heading', { name: 'Service tokens' })).toHaveCount(0);
});

test('changing the password ends the other sessions; signing out everywhere ends them all', async ({
  newSession,
  browser,
  consoleGuard,
}) => {
  const me = await newSession({ name: 'quinn' });
  // The same account signed in on another device.
  const laptop = await browser.newContext({ baseURL: server.baseURL });
  await new TaskwireApi(laptop.request, server.baseURL).logIn(me.credentials);
  const elsewhere = await laptop.newPage();
  await elsewhere.goto('/');
  await expect(elsewhere).toHaveURL(/\/$/);
  await expect(elsewhere.getByTestId('conn-indicator')).toHaveAttribute('data-state', 'connected', {
    timeout: 30_000,
  });

  const page = me.page;
  await page.goto('/account');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
  // The refusal is an HTTP 422, which the browser logs.
  const refused = consoleGuard.tolerate([/status of 422/]);
  await page.getByTestId('current-password').fill('not my password');
  await page.getByTestId('new-password').fill('a brand new password');
  await page.getByTestId('change-password').click();
  await expect(page.getByTestId('password-error')).toHaveText('The current password is not right.');
  refused.end();

  // The change ends every other session at once; this one goes on, its socket open.
  // Here the answer carrying this page's new cookie is held back from the browser (the
  // test makes the request and hands the answer over later): were this page's socket
  // closed too, it would ask to renew with the old cookie meanwhile, be refused (401,
  // logged) and sign this page out.
  await page.route('**/api/account/password', async (route) => {
    const request = route.request();
    const cookies = await page.context().cookies();
    const answer = await fetch(request.url(), {
      method: request.method(),
      headers: {
        ...(await request.allHeaders()),
        cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; '),
      },
      body: request.postData() ?? undefined,
    });
    const body = Buffer.from(await answer.arrayBuffer());
    const headers: Record<string, string> = {};
    answer.headers.forEach((value, name) => {
      headers[name] = value;
    });
    headers['set-cookie'] = answer.headers.getSetCookie().join('\n');
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await route.fulfill({ status: answer.status, headers, body });
  });
  await page.getByTestId('current-password').fill(me.credentials.password);
  await page.getByTestId('new-password').fill('a brand new password');
  await page.getByTestId('change-password').click();
  await expect(page.getByTestId('password-changed')).toBeVisible();
  await page.unrouteAll();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId('conn-indicator')).toHaveAttribute('data-state', 'connected');

  // The other device's open page is signed out by itself; this one goes on, and the
  // new password signs in.
  await expect(elsewhere).toHaveURL(/\/login/, { timeout: 30_000 });
  await page.goto('/account');
  await expect(page.getByTestId('account-username')).toHaveText(me.credentials.username);
  await new TaskwireApi(laptop.request, server.baseURL).logIn({
    username: me.credentials.username,
    password: 'a brand new password',
  });
  await elsewhere.goto('/');
  await expect(elsewhere).toHaveURL(/\/$/);
  await expect(elsewhere.getByTestId('conn-indicator')).toHaveAttribute('data-state', 'connected', {
    timeout: 30_000,
  });

  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
  // This page's socket is closed too, and left closed: no renewal is asked for (the
  // console guard fails the test on the 401 one would get).
  await page.getByTestId('sign-out-everywhere').click();
  await expect(page).toHaveURL(/\/login/);
  await expect(elsewhere).toHaveURL(/\/login/, { timeout: 30_000 });
  await laptop.close();
});

test('signing out here leaves the account signed in, and live, on its other devices', async ({
  newSession,
  browser,
}) => {
  const me = await newSession({ name: 'remy' });
  const laptop = await browser.newContext({ baseURL: server.baseURL });
  await new TaskwireApi(laptop.request, server.baseURL).logIn(me.credentials);
  const elsewhere = await laptop.newPage();
  await elsewhere.goto('/');
  await expect(elsewhere.getByTestId('conn-indicator')).toHaveAttribute('data-state', 'connected', {
    timeout: 30_000,
  });

  const page = me.page;
  await page.goto('/');
  await expect(page.getByTestId('conn-indicator')).toHaveAttribute('data-state', 'connected', {
    timeout: 30_000,
  });
  // This page's socket is closed with its session and left closed: no renewal is asked
  // for (the console guard fails the test on the 401 one would get).
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(page).toHaveURL(/\/login/);
  const again = await me.context.newPage();
  await again.goto('/account');
  await expect(again).toHaveURL(/\/login/);

  // The other device's page stays live, and its session holds on a fresh load.
  await expect(elsewhere.getByTestId('conn-indicator')).toHaveAttribute('data-state', 'connected');
  await elsewhere.reload();
  await expect(elsewhere).toHaveURL(/\/$/);
  await expect(elsewhere.getByTestId('conn-indicator')).toHaveAttribute('data-state', 'connected', {
    timeout: 30_000,
  });
  await laptop.close();
});
