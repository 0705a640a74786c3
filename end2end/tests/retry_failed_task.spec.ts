import { test, expect } from './fixtures/test';
import { DETAILED_DESCRIPTION, uniqueTitle } from './fixtures/data';
import { TaskPage } from './fixtures/task_page';

test('a failed task is retried from its page; everyone sees who retried it, live', async ({
  newSession,
}) => {
  const owner = await newSession({ name: 'tess' });
  const colleague = await newSession({ name: 'umar' });
  const task = await owner.api.createTask(uniqueTitle('Flaky deploy'), DETAILED_DESCRIPTION);
  await owner.api.waitForStatus(task.id, 'dispatched');
  await owner.api.reportStatus(task.id, { status: 'failed', reason: 'The runner crashed' });

  const watching = new TaskPage(colleague.page);
  await watching.goto(task.id);
  await watching.waitUntilLive();
  const page = new TaskPage(owner.page);
  await page.goto(task.id);
  await page.waitUntilLive();
  await expect(page.status).toHaveAttribute('data-status', 'failed');
  await expect(owner.page.getByRole('alert')).toContainText('The runner crashed');
  const document = await page.markDocument();

  await owner.page.getByTestId('retry').click();

  await expect(page.status).toHaveAttribute('data-status', 'dispatched', { timeout: 15_000 });
  await expect(owner.page.getByTestId('retry')).toHaveCount(0);
  await expect(owner.page.getByRole('alert')).toHaveCount(0);
  for (const p of [page, watching]) {
    const retried = p.timelineEntriesOfKind('task:retried');
    await expect(retried).toHaveCount(1);
    await expect(retried).toContainText(owner.credentials.displayName);
    await expect(p.status).toHaveAttribute('data-status', 'dispatched', { timeout: 15_000 });
  }
  await page.expectSameDocument(document);
});
