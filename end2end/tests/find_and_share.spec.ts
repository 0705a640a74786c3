import { randomBytes } from 'node:crypto';
import { test, expect } from './fixtures/test';
import { DETAILED_DESCRIPTION, uniqueTitle } from './fixtures/data';
import { DashboardPage } from './fixtures/dashboard_page';

/** A word no other test's task contains. */
function uniqueWord(): string {
  return `kw${randomBytes(5).toString('hex')}`;
}

async function titlesInOrder(dashboard: DashboardPage): Promise<string[]> {
  return (await dashboard.rows.getByTestId('task-link').allTextContents()).map((t) => t.trim());
}

test('a search, a creator and an order live in the URL, render on first load and follow live rows', async ({
  newSession,
}) => {
  const author = await newSession({ name: 'gina' });
  const watcher = await newSession({ name: 'hank' });
  const word = uniqueWord();

  const inTitle = await author.api.createTask(`Banana ${word} invoice`, DETAILED_DESCRIPTION);
  const inText = await author.api.createTask(uniqueTitle('Apple export'), `${DETAILED_DESCRIPTION} See ${word}.`);
  const unrelated = await author.api.createTask(uniqueTitle('Cherry'), DETAILED_DESCRIPTION);
  const watchers = await watcher.api.createTask(`Date ${word} own`, DETAILED_DESCRIPTION);
  for (const t of [inTitle, inText, unrelated]) await author.api.waitForStatus(t.id, 'dispatched');
  await watcher.api.waitForStatus(watchers.id, 'dispatched');

  const dashboard = new DashboardPage(watcher.page);
  await dashboard.goto();
  await dashboard.waitUntilLive();
  const document = await dashboard.markDocument();

  // Search: matches in titles and in descriptions, counted; the URL names the view.
  const search = watcher.page.getByTestId('search-input');
  await search.fill(word.toUpperCase());
  await search.press('Enter');
  await expect(watcher.page).toHaveURL(new RegExp(`\\?q=${word}$`));
  await expect(dashboard.rows).toHaveCount(3);
  await expect(dashboard.row(unrelated.id)).toHaveCount(0);
  await expect(dashboard.totalCount).toHaveText('3');
  await expect(dashboard.count('dispatched')).toHaveText('3');
  await dashboard.waitUntilLive();

  // Live rows respect the search: a title match and a description match enter, with
  // their counts; a task without the word does not.
  const liveTitle = await author.api.createTask(`Elder ${word}`, DETAILED_DESCRIPTION);
  const liveText = await author.api.createTask(uniqueTitle('Fig'), `${DETAILED_DESCRIPTION} ${word}`);
  const liveOther = await author.api.createTask(uniqueTitle('Grape'), DETAILED_DESCRIPTION);
  for (const t of [liveTitle, liveText, liveOther]) await author.api.waitForStatus(t.id, 'dispatched');
  await expect(dashboard.row(liveTitle.id)).toBeVisible();
  await expect(dashboard.row(liveText.id)).toBeVisible();
  await expect(dashboard.totalCount).toHaveText('5');
  await expect(dashboard.count('dispatched')).toHaveText('5');
  await expect(dashboard.row(liveOther.id)).toHaveCount(0);
  await expect(dashboard.rows).toHaveCount(5);

  // Ordering by a column header, then the other way round.
  await watcher.page.getByTestId('sort-title').click();
  await expect(watcher.page).toHaveURL(new RegExp(`\\?q=${word}&sort=title$`));
  await expect(watcher.page.locator('th[aria-sort="ascending"]')).toContainText('Task');
  const ascending = await titlesInOrder(dashboard);
  expect(ascending).toEqual([...ascending].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())));
  expect(ascending[0]).toMatch(/^Apple export/);
  await watcher.page.getByTestId('sort-title').click();
  await expect(watcher.page).toHaveURL(/sort=title&order=desc$/);
  await expect(dashboard.rows.first()).toContainText('Fig');
  expect(await titlesInOrder(dashboard)).toEqual([...ascending].reverse());

  // The creator filter applies as soon as a person is picked, keeping search and order.
  await watcher.page.getByTestId('creator-filter').selectOption(String(inTitle.creator.id));
  await expect(watcher.page).toHaveURL(
    new RegExp(`\\?q=${word}&creator=${inTitle.creator.id}&sort=title&order=desc$`),
  );
  await expect(dashboard.row(watchers.id)).toHaveCount(0);
  await expect(dashboard.rows).toHaveCount(4);
  await expect(dashboard.totalCount).toHaveText('4');
  const shared = watcher.page.url();

  // Back and forward move between the views, and the form shows each view's own.
  const creatorFilter = watcher.page.getByTestId('creator-filter');
  await watcher.page.goBack();
  await expect(watcher.page).toHaveURL(/sort=title&order=desc$/);
  await expect(dashboard.row(watchers.id)).toBeVisible();
  await expect(creatorFilter).toHaveValue('');
  await watcher.page.goForward();
  await expect(dashboard.row(watchers.id)).toHaveCount(0);
  await expect(creatorFilter).toHaveValue(String(inTitle.creator.id));
  await dashboard.expectSameDocument(document);

  // The link reproduces the view, rendered by the server: no JavaScript needed.
  const reader = await newSession({ name: 'ivan', javaScriptEnabled: false });
  await reader.page.goto(shared.replace(/^https?:\/\/[^/]+/, ''));
  const readerView = new DashboardPage(reader.page);
  expect(await titlesInOrder(readerView)).toEqual(await titlesInOrder(dashboard));
  await expect(reader.page.getByTestId('search-input')).toHaveValue(word);
  await expect(reader.page.getByTestId('creator-filter')).toHaveValue(String(inTitle.creator.id));

  // A search without matches says so and offers the way back.
  await watcher.page.getByTestId('search-input').fill(`${word}zzz`);
  await watcher.page.getByTestId('search-input').press('Enter');
  await expect(dashboard.empty).toContainText('No tasks match');
  await watcher.page.getByTestId('clear-filters').click();
  await expect(watcher.page).toHaveURL(/\/$/);
  await expect(dashboard.row(unrelated.id)).toBeVisible();
  await expect(search).toHaveValue('');
  await expect(creatorFilter).toHaveValue('');
  // Back to the search that found nothing: its words are in the box again.
  await watcher.page.goBack();
  await expect(dashboard.empty).toContainText('No tasks match');
  await expect(search).toHaveValue(`${word}zzz`);
});

test('counts follow the Mine scope, live', async ({ newSession }) => {
  const me = await newSession({ name: 'jade' });
  const other = await newSession({ name: 'kurt' });
  await other.api.createTask(uniqueTitle('Not mine'), DETAILED_DESCRIPTION);

  const dashboard = new DashboardPage(me.page);
  await me.page.goto('/?mine=1');
  await dashboard.waitUntilLive();
  await expect(dashboard.totalCount).toHaveText('0');
  const everyone = await me.api.listTasks();
  const everyoneTotal = Object.values(everyone.counts).reduce((a, b) => a + (b ?? 0), 0);
  expect(everyoneTotal).toBeGreaterThan(0);

  // Another user's task changes nothing here; my own is counted as it moves along.
  const theirs = await other.api.createTask(uniqueTitle('Still not mine'), DETAILED_DESCRIPTION);
  const mine = await me.api.createTask(uniqueTitle('Mine'), DETAILED_DESCRIPTION);
  await other.api.waitForStatus(theirs.id, 'dispatched');
  await me.api.waitForStatus(mine.id, 'dispatched');
  await expect(dashboard.row(mine.id)).toBeVisible();
  await expect(dashboard.totalCount).toHaveText('1');
  await expect(dashboard.count('dispatched')).toHaveText('1');
  await expect(dashboard.count('received')).toHaveText('0');

  // All counts everything again.
  await dashboard.page.getByTestId('filter-all').click();
  await expect(me.page).toHaveURL(/\/$/);
  expect(await dashboard.readCount(dashboard.totalCount)).toBeGreaterThanOrEqual(everyoneTotal + 2);
});
