import { defineConfig, devices } from '@playwright/test';

// The app is started by `cargo leptos end-to-end` (./dev test); Playwright only waits for it.
const baseURL = process.env.ROSTER_E2E_URL ?? 'http://127.0.0.1:3100';

const chromium = {
  ...devices['Desktop Chrome'],
  launchOptions: {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  },
};

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  retries: 0,
  forbidOnly: true,
  reporter: [['list']],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  webServer: {
    // cargo-leptos has already started the server; this only waits until it answers.
    command: 'echo "waiting for Roster at ' + baseURL + '"',
    url: baseURL + '/login',
    reuseExistingServer: true,
    timeout: 180_000,
  },
  projects: [
    { name: 'hydrated', use: chromium },
    // The same forms with JavaScript turned off: server-rendered pages and plain form posts.
    { name: 'no-javascript', use: { ...chromium, javaScriptEnabled: false }, grep: /@nojs/ },
  ],
});
