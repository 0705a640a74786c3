import { test, expect } from './fixtures/test';
import { DETAILED_DESCRIPTION, uniqueTitle } from './fixtures/data';
import { TaskPage } from './fixtures/task_page';
import type { Locator } from '@playwright/test';

async function atBottom(timeline: Locator): Promise<boolean> {
  return timeline.evaluate((el) => el.scrollTop + el.clientHeight >= el.scrollHeight - 24);
}

test('the timeline follows new entries, stops when the reader scrolls up, and offers the way back', async ({
  newSession,
}) => {
  const { page, api } = await newSession({ name: 'nia' });
  const task = await api.createTask(uniqueTitle('Long history'), DETAILED_DESCRIPTION);
  await api.waitForStatus(task.id, 'dispatched');
  for (let i = 1; i <= 14; i += 1) {
    await api.reportStatus(task.id, { note: `Progress note ${i}` });
  }
  const taskPage = new TaskPage(page);
  await taskPage.goto(task.id);
  await taskPage.waitUntilLive();
  const timeline = taskPage.timeline;
  await expect(taskPage.timelineEntries).toHaveCount(17);
  await expect.poll(() => atBottom(timeline), { message: 'opens at the newest entry' }).toBe(true);

  // Following: a new entry is scrolled into view.
  await api.reportStatus(task.id, { note: 'Followed' });
  await expect(taskPage.timelineEntries.last()).toContainText('Followed');
  await expect.poll(() => atBottom(timeline)).toBe(true);

  // Scrolled up to read: new entries do not pull the reader away, they are announced.
  // Resolves once the page has seen the scroll: its handler was added first, so it has
  // run by then (a scroll event comes a frame later, and entries may come sooner).
  await timeline.evaluate(
    (el) =>
      new Promise<void>((resolve) => {
        el.addEventListener('scroll', () => resolve(), { once: true });
        el.scrollTo({ top: 0 });
      }),
  );
  expect(await timeline.evaluate((el) => el.scrollTop)).toBe(0);
  await api.reportStatus(task.id, { note: 'While reading 1' });
  await api.reportStatus(task.id, { note: 'While reading 2' });
  const newEntries = page.getByTestId('new-entries');
  await expect(newEntries).toHaveText('2 new entries ↓');
  expect(await timeline.evaluate((el) => el.scrollTop)).toBe(0);

  // Back to the bottom: following again.
  await newEntries.click();
  await expect(newEntries).toHaveCount(0);
  await expect.poll(() => atBottom(timeline)).toBe(true);
  await api.reportStatus(task.id, { note: 'Following again' });
  await expect(taskPage.timelineEntries.last()).toContainText('Following again');
  await expect.poll(() => atBottom(timeline)).toBe(true);
});
