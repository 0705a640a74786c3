import { test, expect } from './fixtures/test';
import { TaskwireApi } from './fixtures/api';
import { DETAILED_ANSWER, DETAILED_DESCRIPTION, VAGUE_DESCRIPTION, uniqueTitle } from './fixtures/data';
import { DashboardPage } from './fixtures/dashboard_page';
import { NewTaskPage } from './fixtures/new_task_page';
import { TaskPage } from './fixtures/task_page';
import { OFFLINE_ERRORS, waitUntilKeptForOffline } from './fixtures/offline';

test('a task written offline survives a reload and is created once when the network is back', async ({
  newSession,
  consoleGuard,
}) => {
  test.setTimeout(120_000);
  const author = await newSession({ name: 'gina' });
  const watcher = await newSession({ name: 'hal' });

  const watcherDashboard = new DashboardPage(watcher.page);
  await watcherDashboard.goto();
  await watcherDashboard.waitUntilLive();
  const watcherDocument = await watcherDashboard.markDocument();

  const form = new NewTaskPage(author.page);
  await form.goto();
  await form.waitUntilLive();
  await waitUntilKeptForOffline(author.page);

  const offline = consoleGuard.tolerate(OFFLINE_ERRORS);
  await author.context.setOffline(true);
  const title = uniqueTitle('Written offline');
  await form.titleInput.fill(title);
  await form.descriptionInput.fill(DETAILED_DESCRIPTION);
  await form.submitButton.click();

  // Kept on the device, said so, and the form is free for the next one.
  await expect(author.page.getByTestId('kept-offline')).toContainText(title);
  await expect(form.titleInput).toHaveValue('');
  const waiting = author.page.getByTestId('outbox-item');
  await expect(waiting).toHaveCount(1);
  await expect(waiting).toContainText(title);
  await expect(waiting).toHaveAttribute('data-state', 'waiting');

  // The page is reloaded while still offline: it comes back, and so does the task.
  const reloaded = await author.page.reload();
  expect(reloaded?.fromServiceWorker(), 'the page comes from the copy kept for offline use').toBe(true);
  await form.waitUntilHydrated();
  await expect(waiting).toHaveCount(1);
  await expect(waiting).toContainText(title);

  // The network is back: the task is sent, without anyone doing anything.
  await author.context.setOffline(false);
  await expect(waiting).toHaveCount(0, { timeout: 30_000 });
  await form.expectConnectionState('connected');
  offline.end();

  // It exists once, and the other user saw it arrive live.
  const list = await author.api.listTasks();
  const created = list.tasks.filter((t) => t.title === title);
  expect(created).toHaveLength(1);
  const row = watcherDashboard.row(created[0]!.id);
  await expect(row).toHaveCount(1);
  await expect(watcherDashboard.taskLink(row)).toHaveText(title);
  await expect(watcherDashboard.rows.filter({ hasText: title })).toHaveCount(1);
  await watcherDashboard.expectSameDocument(watcherDocument);
});

test('answers given offline are sent when the network is back; ones the server no longer takes are shown, not retried', async ({
  newSession,
  consoleGuard,
  request,
  baseURL,
}) => {
  test.setTimeout(120_000);
  const author = await newSession({ name: 'ida' });
  // The same account from elsewhere (a phone, say), not affected by this browser's network.
  const elsewhere = new TaskwireApi(request, baseURL!, author.auth.token);
  const taskPage = new TaskPage(author.page);
  const offline = consoleGuard.tolerate(OFFLINE_ERRORS);

  // Answers kept while offline go out once the network is back.
  const first = await elsewhere.createTask(uniqueTitle('Offline answers'), VAGUE_DESCRIPTION);
  await elsewhere.waitForStatus(first.id, 'needs_clarification');
  await taskPage.goto(first.id);
  await taskPage.waitUntilLive();
  await author.context.setOffline(true);
  await taskPage.answerAllQuestions(DETAILED_ANSWER);
  await expect(author.page.getByTestId('answers-kept')).toBeVisible();
  await expect(author.page.getByTestId('outbox-item')).toContainText(`#${first.id}`);
  await author.context.setOffline(false);
  await expect(taskPage.status).toHaveAttribute('data-status', 'dispatched', { timeout: 30_000 });
  await expect(author.page.getByTestId('outbox-item')).toHaveCount(0);
  await expect(taskPage.timelineEntriesOfKind('task:clarified')).toHaveCount(1);

  // Answered elsewhere while this browser was offline: its own answers are refused
  // when they arrive, shown with the reason, and kept out of the way once dismissed.
  const second = await elsewhere.createTask(uniqueTitle('Answered elsewhere'), VAGUE_DESCRIPTION);
  await elsewhere.waitForStatus(second.id, 'needs_clarification');
  await taskPage.goto(second.id);
  await taskPage.waitUntilLive();
  await author.context.setOffline(true);
  await taskPage.answerAllQuestions('Answered from the train.');
  await expect(author.page.getByTestId('answers-kept')).toBeVisible();
  await elsewhere.answerQuestions(second.id, DETAILED_ANSWER);
  await author.context.setOffline(false);
  const refused = author.page.getByTestId('outbox-item');
  await expect(refused).toHaveAttribute('data-state', 'refused', { timeout: 30_000 });
  await expect(refused).toContainText('Not sent');
  await expect(author.page.getByRole('alert')).toBeVisible();
  offline.end();
  await expect(taskPage.status).toHaveAttribute('data-status', 'dispatched');
  const timeline = await elsewhere.getTask(second.id);
  expect(timeline.events.filter((e) => e.kind === 'task:clarified')).toHaveLength(1);
  await author.page.getByTestId('outbox-dismiss').click();
  await expect(refused).toHaveCount(0);
});

test('offline, the form opens from another page and keeps one task after another', async ({
  newSession,
  consoleGuard,
}) => {
  test.setTimeout(120_000);
  const author = await newSession({ name: 'ines' });
  const dashboard = new DashboardPage(author.page);
  await dashboard.goto();
  await dashboard.waitUntilLive();
  await waitUntilKeptForOffline(author.page);

  const offline = consoleGuard.tolerate(OFFLINE_ERRORS);
  await author.context.setOffline(true);
  // The form's page asks the server who is signed in; this tab already knows.
  await dashboard.openNewTaskForm();
  const form = new NewTaskPage(author.page);
  const titles = [uniqueTitle('First of two offline'), uniqueTitle('Second of two offline')];
  for (const title of titles) {
    await form.titleInput.fill(title);
    await form.descriptionInput.fill(DETAILED_DESCRIPTION);
    await form.submitButton.click();
    await expect(author.page.getByTestId('kept-offline')).toContainText(title);
    await expect(form.titleInput).toHaveValue('');
    await expect(form.submitButton).toBeEnabled();
  }
  const waiting = author.page.getByTestId('outbox-item');
  await expect(waiting).toHaveCount(2);

  // The network comes back while a third is being written: both are sent, and the page
  // stays with what is being written.
  await form.titleInput.fill('Half written');
  await author.context.setOffline(false);
  await expect(waiting).toHaveCount(0, { timeout: 30_000 });
  await form.expectConnectionState('connected');
  offline.end();
  await expect(author.page).toHaveURL(/\/tasks\/new$/);
  await expect(form.titleInput).toHaveValue('Half written');

  const list = await author.api.listTasks();
  for (const title of titles) {
    expect(list.tasks.filter((t) => t.title === title)).toHaveLength(1);
  }
});
