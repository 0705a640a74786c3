import { test, expect } from './fixtures/test';
import { DETAILED_DESCRIPTION, uniqueTitle } from './fixtures/data';
import { TaskPage } from './fixtures/task_page';
import { deliverWebhook, githubFixture } from './fixtures/github';

test('a pull request webhook shows the PR on the open task page, then its merge', async ({
  newSession,
  request,
  baseURL,
}) => {
  const { page, api } = await newSession({ name: 'erin' });
  const task = await api.createTask(uniqueTitle('Webhook'), DETAILED_DESCRIPTION);
  await api.waitForStatus(task.id, 'dispatched');

  const taskPage = new TaskPage(page);
  await taskPage.goto(task.id);
  await taskPage.waitUntilLive();
  await expect(taskPage.prLink).toHaveCount(0);
  const document = await taskPage.markDocument();

  const opened = githubFixture('pull_request.opened.json');
  opened.pull_request.head.ref = `task-${task.id}`;
  await deliverWebhook(request, baseURL!, 'pull_request', opened);

  await expect(taskPage.status).toHaveAttribute('data-status', 'pr_open');
  await expect(taskPage.prLink).toHaveAttribute('href', opened.pull_request.html_url);
  await expect(taskPage.prLink).toHaveAttribute('target', '_blank');
  await expect(taskPage.timelineEntriesOfKind('task:pr_opened')).toHaveCount(1);

  const merged = githubFixture('pull_request.closed.json');
  merged.pull_request.head.ref = `task-${task.id}`;
  merged.pull_request.merged = true;
  await deliverWebhook(request, baseURL!, 'pull_request', merged);

  await expect(taskPage.status).toHaveAttribute('data-status', 'merged');
  await expect(taskPage.timelineEntriesOfKind('task:pr_merged')).toHaveCount(1);
  await taskPage.expectSameDocument(document);
});
