import { totalmem } from 'node:os';
import { expect, test } from '@playwright/test';
import { formatBytes } from '../../shared/format';
import { startServe } from '../helpers/cli';
import type { ServeProcess } from '../helpers/cli';
import { makeTempDir } from '../helpers/tempDir';

let server: ServeProcess;
const dataDir = makeTempDir('architect-e2e-');

test.beforeAll(async () => {
  server = await startServe(dataDir.path);
});

test.afterAll(async () => {
  expect(await server?.stop()).toBe(0);
  dataDir.remove();
});

test('the System page shows this machine through the real UI and host', async ({ page }, testInfo) => {
  await page.goto(server.url);
  await expect(page.getByRole('heading', { name: 'System' })).toBeVisible();
  await expect(page.getByTestId('memory-total')).toHaveText(formatBytes(totalmem()), { timeout: 30_000 });
  await expect(page.getByTestId('cpu-cores')).toContainText('logical');
  await expect(page.getByTestId('compute-backend')).toHaveText(/CPU|CUDA|VULKAN|METAL/);
  // The token leaves the address bar once read.
  expect(page.url()).not.toContain('token=');
  await page.reload();
  await expect(page.getByTestId('memory-total')).toHaveText(formatBytes(totalmem()));
  const screenshot = testInfo.outputPath('system-page.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  await testInfo.attach('system page', { path: screenshot, contentType: 'image/png' });
});

test('without the token the page says how to connect', async ({ page }) => {
  await page.goto(server.url.replace(/\?token=.*/, ''));
  await expect(page.getByRole('alert').first()).toContainText('architect serve');
});
