import { totalmem } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { formatBytes } from '../../shared/format';
import type { ServeProcess } from '../helpers/cli';
import { startServeSkippingSetup } from '../helpers/e2eApp';
import { fakeNvidiaSmi } from '../helpers/nvidiaSmi';
import { makeTempDir } from '../helpers/tempDir';

let server: ServeProcess;
const dataDir = makeTempDir('architect-e2e-');

test.beforeAll(async () => {
  server = await startServeSkippingSetup(dataDir.path);
});

test.afterAll(async () => {
  expect(await server?.stop()).toBe(0);
  dataDir.remove();
});

test('the System page shows this machine through the real UI and host', async ({ page }, testInfo) => {
  await page.goto(`${server.url}#/system`);
  await expect(page.getByRole('heading', { name: 'System', exact: true })).toBeVisible();
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

// An H200 on driver 580 (a stand-in nvidia-smi: no GPU here) gets no CUDA from node-llama-cpp's prebuilt library;
// the host skips CUDA and the page says why instead of the process aborting at its first kernel.
test('the System page says why CUDA is off for a GPU the CUDA library has no code for (nvidia-smi double)', async ({ page }) => {
  const dir = makeTempDir('architect-e2e-gpu-');
  const bin = fakeNvidiaSmi(join(dir.path, 'bin'), 'NVIDIA H200, 9.0');
  const gpuServer = await startServeSkippingSetup(join(dir.path, 'data'), { ...process.env, PATH: `${bin}:${process.env.PATH}` });
  try {
    await page.goto(`${gpuServer.url}#/system`);
    await expect(page.getByTestId('compute-warning')).toContainText('no code the NVIDIA H200 (compute capability 9.0) can run', { timeout: 30_000 });
    await expect(page.getByTestId('compute-warning')).toContainText('update the NVIDIA driver to one for CUDA 13.1 or newer');
    await expect(page.getByTestId('compute-backend')).not.toHaveText('CUDA');
  } finally {
    expect(await gpuServer.stop()).toBe(0);
    dir.remove();
  }
});
