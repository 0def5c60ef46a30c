import { accessSync, constants } from 'node:fs';
import { defineConfig } from '@playwright/test';

// Debian's Chromium: nothing is downloaded. The flags keep it off this machine's closed network.
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// Without the browser every end-to-end test would fail on its own; say once, before any runs, what to install.
try {
  accessSync(CHROMIUM_PATH, constants.X_OK);
} catch {
  console.error(
    `\nThe end-to-end tests drive Chromium at ${CHROMIUM_PATH}, ${process.env.CHROMIUM_PATH ? 'which CHROMIUM_PATH names but is not an executable' : 'which is not installed'}. Install it and run again:\n` +
      '  Debian: sudo apt-get install chromium\n' +
      "  Ubuntu (its chromium is a snap): sudo snap install chromium, then CHROMIUM_PATH=/snap/bin/chromium npm test\n" +
      '  elsewhere: set CHROMIUM_PATH to a Chromium or Chrome executable, e.g.\n' +
      '    CHROMIUM_PATH="/Applications/Google Chrome.app/Contents/MacOS/Google Chrome" npm test\n',
  );
  process.exit(1);
}

export default defineConfig({
  testDir: 'tests/e2e',
  outputDir: 'test-results',
  timeout: 60_000,
  workers: 1,
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  use: {
    browserName: 'chromium',
    launchOptions: {
      executablePath: CHROMIUM_PATH,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
  },
});
