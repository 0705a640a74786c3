import { test, expect } from './fixtures/test';
import { DETAILED_ANSWER, VAGUE_DESCRIPTION, uniqueTitle } from './fixtures/data';
import { TaskPage } from './fixtures/task_page';

test('answering clarification questions dispatches the task', async ({ newSession }) => {
  const { page, api } = await newSession({ name: 'dave' });
  const task = await api.createTask(uniqueTitle('Vague request'), VAGUE_DESCRIPTION);
  await api.waitForStatus(task.id, 'needs_clarification');

  const taskPage = new TaskPage(page);
  await taskPage.goto(task.id);
  await taskPage.waitUntilLive();
  await expect(taskPage.status).toHaveAttribute('data-status', 'needs_clarification');
  await expect(taskPage.clarificationQuestions.first()).toBeVisible();
  const questionCount = await taskPage.clarificationQuestions.count();
  await expect(taskPage.answerFields).toHaveCount(questionCount);
  const document = await taskPage.markDocument();

  await taskPage.answerAllQuestions(DETAILED_ANSWER);

  await expect(taskPage.status).toHaveAttribute('data-status', 'dispatched', { timeout: 15_000 });
  await expect(taskPage.timelineEntriesOfKind('task:clarified')).toHaveCount(1);
  await taskPage.expectSameDocument(document);
});
