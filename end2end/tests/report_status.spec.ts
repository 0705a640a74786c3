import { test, expect } from './fixtures/test';
import { DETAILED_DESCRIPTION, uniqueTitle } from './fixtures/data';
import { TaskPage } from './fixtures/task_page';

test('a reported status change reaches the open task page live', async ({ newSession }) => {
  const { page, api } = await newSession({ name: 'carol' });
  const title = uniqueTitle('Status report');
  const task = await api.createTask(title, DETAILED_DESCRIPTION);
  await api.waitForStatus(task.id, 'dispatched');

  const taskPage = new TaskPage(page);
  await taskPage.goto(task.id);
  await taskPage.waitUntilLive();
  await expect(taskPage.status).toHaveAttribute('data-status', 'dispatched');
  await expect(taskPage.timelineEntriesOfKind('task:dispatched')).toHaveCount(1);
  const entriesBefore = await taskPage.timelineEntries.count();
  const document = await taskPage.markDocument();

  await api.reportStatus(task.id, { status: 'coding', note: 'Working on it' });

  await expect(taskPage.status).toHaveAttribute('data-status', 'coding');
  await expect(taskPage.timelineEntriesOfKind('task:coding')).toHaveCount(1);
  await expect
    .poll(() => taskPage.timelineEntries.count(), { message: 'timeline should grow' })
    .toBeGreaterThan(entriesBefore);
  await taskPage.expectSameDocument(document);
});
