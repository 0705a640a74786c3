import AxeBuilder from '@axe-core/playwright';
import { test, expect } from './fixtures/test';
import { type Credentials, DETAILED_DESCRIPTION, newCredentials, uniqueTitle } from './fixtures/data';
import { TaskwireApi } from './fixtures/api';
import { useOwnServer } from './fixtures/own_server';
import { PRIVATE_SERVER_PORT } from './fixtures/server';

// A server of its own: the first account made on it is its administrator, and closing
// sign-up must not reach other specs.
const server = useOwnServer({ port: PRIVATE_SERVER_PORT });
// The second test signs in as the first one's lead, the server's administrator.
test.describe.configure({ mode: 'serial' });
let administrator: Credentials | undefined;

test('a member invites someone by link; they join the team and see its tasks', async ({
  newSession,
  browser,
  consoleGuard,
}) => {
  const lead = await newSession({ name: 'tara' });
  administrator = lead.credentials;
  const title = uniqueTitle('Team task');
  await lead.api.createTask(title, DETAILED_DESCRIPTION);
  const page = lead.page;

  await page.goto('/');
  await page.getByTestId('nav-team').click();
  await expect(page).toHaveURL(/\/team$/);
  await expect(page.getByTestId('team-name')).toHaveText('default');
  await expect(page.getByTestId('member')).toHaveCount(1);
  await expect(page.getByTestId('no-invites')).toBeVisible();
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });

  await page.getByTestId('create-invite').click();
  const link = (await page.getByTestId('invite-link').textContent())?.trim() ?? '';
  expect(link).toMatch(/\/signup\?invite=twi_[0-9a-f]{48}$/);
  expect(link.startsWith(server.baseURL)).toBe(true);
  await expect(page.getByTestId('invite-row')).toHaveCount(1);
  await expect(page.getByTestId('invites')).not.toContainText(link);
  const axe = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  expect(axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)).toEqual([]);

  // The person invited opens the link in a browser of their own.
  const theirs = await browser.newContext({ baseURL: server.baseURL });
  consoleGuard.watchContext(theirs, 'invited');
  const invited = await theirs.newPage();
  await invited.goto(link);
  await expect(invited.getByTestId('signup-heading')).toHaveText('Join default');
  await expect(invited.locator('body')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
  const who = newCredentials('ugo');
  await invited.getByLabel('Username').fill(who.username);
  await invited.getByLabel('Display name').fill(who.displayName);
  await invited.getByLabel('Password').fill(who.password);
  await invited.getByTestId('signup-submit').click();
  await expect(invited).toHaveURL(/\/$/);
  await expect(invited.getByTestId('task-row').filter({ hasText: title })).toBeVisible();
  await invited.goto('/team');
  await expect(invited.getByTestId('member')).toHaveCount(2);

  // The link is spent: the team no longer lists it, and it makes no second account.
  await page.reload();
  await expect(page.getByTestId('invite-row')).toHaveCount(0);
  await expect(page.locator(`[data-testid="member"][data-username="${who.username}"]`)).toBeVisible();
  const late = await browser.newContext({ baseURL: server.baseURL });
  consoleGuard.watchContext(late, 'late');
  const latePage = await late.newPage();
  await latePage.goto(link);
  await expect(latePage.getByTestId('invite-closed')).toBeVisible();
  await late.close();
  await theirs.close();
});

test('an administrator closes open sign-up; a member leaves the team', async ({ newSession, browser, consoleGuard }) => {
  const member = await newSession({ name: 'vera' });
  const title = uniqueTitle('Stays with the team');
  await member.api.createTask(uniqueTitle('Made by vera'), DETAILED_DESCRIPTION);

  // Only the administrator is offered the setting.
  await member.page.goto('/team');
  await expect(member.page.getByTestId('member').first()).toBeVisible();
  await expect(member.page.getByTestId('toggle-signup')).toHaveCount(0);

  const adminContext = await browser.newContext({ baseURL: server.baseURL });
  consoleGuard.watchContext(adminContext, 'administrator');
  const adminApi = new TaskwireApi(adminContext.request, server.baseURL);
  if (!administrator) throw new Error('the first test made the administrator');
  await adminApi.logIn(administrator);
  const adminPage = await adminContext.newPage();
  await adminPage.goto('/team');
  await expect(adminPage.locator('body')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
  await expect(adminPage.getByTestId('signup-state')).toContainText('Anyone');
  await adminPage.getByTestId('toggle-signup').click();
  await expect(adminPage.getByTestId('signup-state')).toContainText('Closed');

  const visitor = await browser.newContext({ baseURL: server.baseURL });
  consoleGuard.watchContext(visitor, 'visitor');
  const visitorPage = await visitor.newPage();
  await visitorPage.goto('/signup');
  await expect(visitorPage.getByTestId('signup-closed')).toBeVisible();
  await expect(visitorPage.getByTestId('signup-submit')).toHaveCount(0);

  await adminPage.getByTestId('toggle-signup').click();
  await expect(adminPage.getByTestId('signup-state')).toContainText('Anyone');
  await visitorPage.reload();
  await expect(visitorPage.getByTestId('signup-submit')).toBeVisible();
  await visitor.close();

  // Leaving: a team of one's own; the old team's tasks leave the dashboard.
  await adminApi.createTask(title, DETAILED_DESCRIPTION);
  await member.page.goto('/');
  await expect(member.page.getByTestId('task-row').filter({ hasText: title })).toBeVisible();
  await member.page.goto('/team');
  await expect(member.page.locator('body')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
  // Leaving ends every session: this page's socket is closed too, and left closed until
  // the page loads again with the new session (no renewal refused with 401 meanwhile).
  await member.page.getByTestId('leave-team').click();
  await expect(member.page.getByTestId('team-name')).toHaveText(member.credentials.username);
  await expect(member.page.getByTestId('member')).toHaveCount(1);
  await expect(member.page.getByTestId('leave-alone')).toBeVisible();
  await member.page.goto('/');
  await expect(member.page.getByTestId('conn-indicator')).toHaveAttribute('data-state', 'connected', {
    timeout: 30_000,
  });
  await expect(member.page.getByTestId('task-row').filter({ hasText: 'Made by vera' })).toBeVisible();
  await expect(member.page.getByTestId('task-row').filter({ hasText: title })).toHaveCount(0);
  await adminContext.close();
});

test('someone with an account joins a team by its link, signing in first if need be', async ({
  newSession,
  browser,
  consoleGuard,
}) => {
  // A team of its own to invite into, with a task of its own.
  const lead = await newSession({ name: 'wyn' });
  const team = lead.credentials.username;
  const page = lead.page;
  await page.goto('/team');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
  await page.getByTestId('leave-team').click();
  await expect(page.getByTestId('team-name')).toHaveText(team);
  const teamTask = uniqueTitle('In the new team');
  await lead.api.createTask(teamTask, DETAILED_DESCRIPTION);
  const links: string[] = [];
  for (let i = 0; i < 2; i++) {
    await page.getByTestId('create-invite').click();
    await expect(page.getByTestId('invite-row')).toHaveCount(i + 1);
    const link = (await page.getByTestId('invite-link').textContent())?.trim() ?? '';
    expect(link).toMatch(/\/signup\?invite=twi_/);
    expect(links).not.toContain(link);
    links.push(link);
  }

  // Signed in already, in the default team, with a task of the default team in sight.
  const joiner = await newSession({ name: 'yan' });
  const ownTask = uniqueTitle('Made by yan');
  await joiner.api.createTask(ownTask, DETAILED_DESCRIPTION);
  const neighbour = await newSession({ name: 'zed' });
  const oldTeamTask = uniqueTitle('In the default team');
  await neighbour.api.createTask(oldTeamTask, DETAILED_DESCRIPTION);
  const row = (title: string) => joiner.page.getByTestId('task-row').filter({ hasText: title });
  await joiner.page.goto('/');
  await expect(row(oldTeamTask)).toBeVisible();

  await joiner.page.goto(links[0]);
  await expect(joiner.page.getByTestId('signup-heading')).toHaveText(`Join ${team}`);
  await expect(joiner.page.getByTestId('join-explained')).toContainText('in default');
  await expect(joiner.page.getByTestId('signup-submit')).toHaveCount(0);
  await expect(joiner.page.locator('body')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
  await joiner.page.getByTestId('join-team').click();
  await expect(joiner.page).toHaveURL(/\/$/);
  await expect(row(teamTask)).toBeVisible();
  await expect(row(ownTask)).toBeVisible();
  await expect(row(oldTeamTask)).toHaveCount(0);
  await expect(joiner.page.getByTestId('conn-indicator')).toHaveAttribute('data-state', 'connected', {
    timeout: 30_000,
  });

  // Signed out: the sign-up form offers to sign in and come back to join.
  const abe = newCredentials('abe');
  const elsewhere = await browser.newContext({ baseURL: server.baseURL });
  await new TaskwireApi(elsewhere.request, server.baseURL).signUp(abe);
  await elsewhere.close();
  const visitor = await browser.newContext({ baseURL: server.baseURL });
  consoleGuard.watchContext(visitor, 'visitor');
  const visitorPage = await visitor.newPage();
  await visitorPage.goto(links[1]);
  await expect(visitorPage.getByTestId('signup-heading')).toHaveText(`Join ${team}`);
  await visitorPage.getByTestId('signup-sign-in').click();
  await expect(visitorPage).toHaveURL(/\/login\?next=/);
  await visitorPage.getByLabel('Username').fill(abe.username);
  await visitorPage.getByLabel('Password').fill(abe.password);
  await visitorPage.getByTestId('login-submit').click();
  await expect(visitorPage.getByTestId('join-team')).toBeVisible();
  await expect(visitorPage.locator('body')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
  await visitorPage.getByTestId('join-team').click();
  await expect(visitorPage).toHaveURL(/\/$/);
  await expect(visitorPage.getByTestId('task-row').filter({ hasText: teamTask })).toBeVisible();
  await visitor.close();

  // Both links are spent.
  await page.reload();
  await expect(page.getByTestId('member')).toHaveCount(3);
  await expect(page.getByTestId('invite-row')).toHaveCount(0);
});
