import { test, expect } from './fixtures/test';
import { DashboardPage } from './fixtures/dashboard_page';

test('sign-in and sign-up offer an account, not a session’s controls', async ({ page, newSession }) => {
  for (const path of ['/login', '/signup']) {
    await page.goto(path);
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
    await expect(page.getByRole('button', { name: 'Sign out' })).toHaveCount(0);
    await expect(page.getByTestId('conn-indicator')).toHaveCount(0);
    await expect(page.getByText('Connecting…')).toHaveCount(0);
    await expect(page.getByTestId('nav-sign-in')).toHaveAttribute('href', '/login');
    await expect(page.getByTestId('nav-sign-up')).toHaveAttribute('href', '/signup');
  }

  // Signed in, the header is the session's again.
  const { page: signedIn } = await newSession({ name: 'june' });
  const dashboard = new DashboardPage(signedIn);
  await dashboard.goto();
  await dashboard.waitUntilLive();
  await expect(signedIn.getByRole('button', { name: 'Sign out' })).toBeVisible();
  await expect(signedIn.getByTestId('nav-sign-in')).toHaveCount(0);
});
