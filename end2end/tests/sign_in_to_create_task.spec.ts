import { test, expect } from './fixtures/test';
import { DETAILED_DESCRIPTION, uniqueTitle } from './fixtures/data';
import { LoginPage } from './fixtures/login_page';
import { NewTaskPage } from './fixtures/new_task_page';
import { TaskPage } from './fixtures/task_page';

test('a signed-out visitor opening the new-task form signs in and comes back to it', async ({
  page,
  newSession,
}) => {
  // An account that exists; `page` belongs to a browser with no session at all.
  const { credentials } = await newSession({ name: 'returning' });

  await page.goto('/tasks/new');
  await expect(page).toHaveURL(/\/login\?next=\/tasks\/new$/);
  const login = new LoginPage(page);
  await login.waitUntilHydrated();
  await login.logIn(credentials);

  await expect(page).toHaveURL(/\/tasks\/new$/);
  const form = new NewTaskPage(page);
  await form.waitUntilHydrated();
  const title = uniqueTitle('After signing in');
  const taskId = await form.createTask(title, DETAILED_DESCRIPTION);
  await expect(new TaskPage(page).title).toHaveText(title);
  expect(taskId).toBeGreaterThan(0);
});
