import { test, expect } from './fixtures/test';
import { DETAILED_DESCRIPTION, uniqueTitle } from './fixtures/data';
import { DashboardPage } from './fixtures/dashboard_page';
import { NewTaskPage } from './fixtures/new_task_page';
import { TaskPage } from './fixtures/task_page';

test('a task created in the form appears live on another user\'s dashboard', async ({
  newSession,
}) => {
  const author = await newSession({ name: 'alice' });
  const watcher = await newSession({ name: 'bob' });

  const watcherDashboard = new DashboardPage(watcher.page);
  await watcherDashboard.goto();
  await watcherDashboard.waitUntilLive();
  const totalBefore = await watcherDashboard.readCount(watcherDashboard.totalCount);
  const watcherDocument = await watcherDashboard.markDocument();

  const authorDashboard = new DashboardPage(author.page);
  await authorDashboard.goto();
  await authorDashboard.waitUntilHydrated();
  await authorDashboard.openNewTaskForm();

  const form = new NewTaskPage(author.page);
  await form.waitUntilHydrated();
  const title = uniqueTitle('Live dashboard');
  const taskId = await form.createTask(title, DETAILED_DESCRIPTION);

  await expect(author.page).toHaveURL(new RegExp(`/tasks/${taskId}$`));
  await expect(new TaskPage(author.page).title).toHaveText(title);

  const row = watcherDashboard.row(taskId);
  await expect(row).toBeVisible();
  await expect(watcherDashboard.taskLink(row)).toHaveText(title);
  await expect(watcherDashboard.totalCount).toHaveText(String(totalBefore + 1));
  await watcherDashboard.expectSameDocument(watcherDocument);
});
