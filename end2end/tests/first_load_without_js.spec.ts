import { test, expect } from './fixtures/test';
import { DETAILED_DESCRIPTION, uniqueTitle } from './fixtures/data';
import { DashboardPage } from './fixtures/dashboard_page';
import { TaskPage } from './fixtures/task_page';

test('server-rendered dashboard and task page work without JavaScript', async ({ newSession }) => {
  const { page, api } = await newSession({ name: 'nojs', javaScriptEnabled: false });
  const title = uniqueTitle('Render without scripts');
  const task = await api.createTask(title, DETAILED_DESCRIPTION);
  await api.waitForStatus(task.id, 'dispatched');

  const dashboard = new DashboardPage(page);
  await dashboard.goto();
  await expect(page).toHaveURL(/\/$/);
  await expect(dashboard.body).not.toHaveAttribute('data-hydrated', 'true');

  const row = dashboard.row(task.id);
  await expect(row).toBeVisible();
  await expect(row).toHaveAttribute('data-status', 'dispatched');
  await expect(dashboard.taskLink(row)).toHaveText(title);
  await expect(dashboard.taskLink(row)).toHaveAttribute('href', `/tasks/${task.id}`);
  await expect(dashboard.statusBadge(row)).toHaveAttribute('data-status', 'dispatched');

  const total = await dashboard.readCount(dashboard.totalCount);
  const dispatched = await dashboard.readCount(dashboard.count('dispatched'));
  expect(dispatched).toBeGreaterThanOrEqual(1);
  expect(total).toBeGreaterThanOrEqual(dispatched);

  const taskPage = new TaskPage(page);
  await taskPage.goto(task.id);
  await expect(taskPage.title).toHaveText(title);
  await expect(taskPage.status).toHaveAttribute('data-status', 'dispatched');
  await expect(taskPage.timelineEntriesOfKind('task:created')).toHaveCount(1);
  await expect(taskPage.timelineEntriesOfKind('task:dispatched')).toHaveCount(1);
});

test('without JavaScript, a new invite link is shown once on the page the form returns to', async ({ newSession }) => {
  const { page } = await newSession({ name: 'nojsinvite', javaScriptEnabled: false });
  await page.goto('/team');
  await page.getByTestId('create-invite').click();
  await expect(page).toHaveURL(/\/team/);
  const link = page.getByTestId('invite-link');
  await expect(link).toHaveText(/^http:\/\/.+\/signup\?invite=twi_[0-9a-f]+$/);
  await page.reload();
  await expect(page.getByTestId('team-name')).toBeVisible();
  await expect(link).toHaveCount(0);
});
