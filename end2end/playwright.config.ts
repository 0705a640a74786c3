import { defineConfig } from '@playwright/test';
import { SHARED_SERVER_PORT, serverURL } from './tests/fixtures/server';

export default defineConfig({
  testDir: './tests',
  globalSetup: './tests/global_setup.ts',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: Boolean(process.env.CI),
  // `list` for people; `json` so the test script can print one "N passed, N failed" line.
  reporter: [['list'], ['json', { outputFile: 'test-results/results.json' }]],
  timeout: 60_000,
  expect: { timeout: 10_000 },
  use: {
    baseURL: serverURL(SHARED_SERVER_PORT),
    browserName: 'chromium',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
    actionTimeout: 10_000,
    navigationTimeout: 30_000,
    trace: 'retain-on-failure',
  },
});
