import { expect, test } from '@playwright/test';
import type { Page } from '@playwright/test';
import type { ServeProcess } from '../helpers/cli';
import { startServeSkippingSetup } from '../helpers/e2eApp';
import { writeE2eModel } from '../helpers/e2eModels';
import { startModelServer } from '../helpers/modelServer';
import type { ModelServer, ServedModel } from '../helpers/modelServer';
import { makeTempDir } from '../helpers/tempDir';

let server: ServeProcess;
let models: ModelServer;
let served: ServedModel;
let local: ServedModel;
const dataDir = makeTempDir('architect-e2e-models-');
const files = makeTempDir('architect-e2e-models-files-');

test.beforeAll(async () => {
  served = writeE2eModel(files.path, 'served-tiny.gguf', { tiedOutput: true, seed: 11 });
  local = writeE2eModel(files.path, 'local-tiny.gguf', { tiedOutput: true, seed: 12 });
  models = await startModelServer({ 'served-tiny.gguf': served.path });
  server = await startServeSkippingSetup(dataDir.path);
});

test.afterAll(async () => {
  expect(await server?.stop()).toBe(0);
  await models?.close();
  dataDir.remove();
  files.remove();
});

async function openModels(page: Page): Promise<void> {
  await page.goto(server.url);
  await page.getByRole('navigation').getByRole('button', { name: 'Models' }).click();
  await expect(page.getByRole('heading', { name: 'Models', exact: true })).toBeVisible();
}

const progressOf = async (page: Page) => Number(await page.getByRole('progressbar', { name: /served-tiny\.gguf/ }).getAttribute('aria-valuenow'));

test('the catalog shows each file with its size and whether it fits this machine', async ({ page }) => {
  await openModels(page);
  const catalog = page.getByRole('region', { name: 'Catalog' });
  await expect(catalog.getByRole('article').first()).toBeVisible({ timeout: 15_000 });
  const fits = catalog.getByTestId('fit');
  expect(await fits.count()).toBeGreaterThan(0);
  for (const fit of await fits.all()) await expect(fit).toHaveText(/^(fits on GPU|fits in RAM \(CPU\)|too large for this machine)$/);
  await expect(catalog.getByRole('button', { name: /^Download / }).first()).toBeEnabled();
  await expect(catalog).toContainText(/\d+(\.\d+)? GB/);
});

test('download a model by URL: progress moves, pause and resume, then it is installed', async ({ page }, testInfo) => {
  models.throttle(1_000_000); // the 8 MB file takes about 8 s
  await openModels(page);
  const form = page.getByRole('form', { name: 'Download from URL' });
  await form.getByLabel('GGUF address').fill(`${models.url}/slow/served-tiny.gguf`);
  await form.getByRole('button', { name: 'Download' }).click();

  const bar = page.getByRole('progressbar', { name: /served-tiny\.gguf/ });
  await expect(bar).toBeVisible({ timeout: 15_000 });
  await expect.poll(() => progressOf(page), { timeout: 15_000 }).toBeGreaterThan(0);
  const first = await progressOf(page);
  await expect.poll(() => progressOf(page), { timeout: 15_000 }).toBeGreaterThan(first);
  // The row keeps its test id once the bar is gone.
  const row = page.getByTestId((await page.locator('li[data-testid^="download-"]', { has: bar }).getAttribute('data-testid'))!);
  await expect(row.getByTestId('download-bytes')).toContainText(/ of \d+(\.\d)? MiB \(\d+%\)/);
  await page.screenshot({ path: testInfo.outputPath('models-downloading.png'), fullPage: true });

  // Pause keeps the partial file; Resume goes on from what it kept.
  await row.getByRole('button', { name: 'Pause' }).click();
  await expect(row.getByTestId('download-state')).toHaveText('Paused', { timeout: 15_000 });
  // (What is kept counts whole chunks of the downloader's; this small file is one chunk, so it may say 0 B.)
  models.throttle(4_000_000);
  await row.getByRole('button', { name: 'Resume' }).click();
  await expect(row.getByTestId('download-state')).toHaveText(/^Installed/, { timeout: 30_000 });

  const installed = page.getByRole('article', { name: 'Installed models' });
  const modelRow = installed.locator('tr', { hasText: 'served-tiny' });
  await expect(modelRow).toBeVisible();
  await expect(modelRow).toContainText(served.sha256.slice(0, 12));
  await expect(modelRow.locator('td[title]').first()).toHaveAttribute('title', served.sha256);
  await expect(modelRow.getByTestId('model-trainable')).toHaveText('trainable');
  await expect(modelRow).toContainText('URL');
  // The catalog's Download buttons and the Generate page's picker see it too.
  await page.getByRole('navigation').getByRole('button', { name: 'Generate' }).click();
  await expect(page.getByRole('form', { name: 'Generate' }).getByLabel('Model', { exact: true }).locator('option:checked')).toContainText('tiny-llama-f32');
});

test('import a local file by path, refuse a missing one, and delete with a confirmation', async ({ page }, testInfo) => {
  await openModels(page);
  const form = page.getByRole('form', { name: 'Import a local file' });
  await expect(form).toContainText('cannot import it'); // the page says a dropped .gguf needs its path typed

  await form.getByLabel('Path of a .gguf file on this machine').fill(`${files.path}/nowhere.gguf`);
  await form.getByRole('button', { name: 'Import' }).click();
  await expect(page.getByTestId('import-notice')).toHaveAttribute('role', 'alert');
  await expect(page.getByTestId('import-notice')).toContainText('nowhere.gguf');

  await form.getByLabel('Path of a .gguf file on this machine').fill(local.path);
  await form.getByRole('button', { name: 'Import' }).click();
  await expect(page.getByTestId('import-notice')).toContainText(`SHA-256 ${local.sha256.slice(0, 12)}`, { timeout: 30_000 });
  const installed = page.getByRole('article', { name: 'Installed models' });
  const row = installed.locator('tr', { hasText: 'local-tiny' });
  await expect(row).toContainText('imported');
  await page.screenshot({ path: testInfo.outputPath('models-page.png'), fullPage: true });

  // A file outside the models folder stays on disk; the confirmation says so.
  await row.getByRole('button', { name: /^Delete / }).click();
  const confirm = row.getByRole('alertdialog');
  await expect(confirm).toContainText('outside the models folder and stays');
  await confirm.getByRole('button', { name: 'Keep' }).click();
  await expect(row.getByRole('alertdialog')).toHaveCount(0);
  await row.getByRole('button', { name: /^Delete / }).click();
  await row.getByRole('alertdialog').getByRole('button', { name: 'Remove' }).click();
  await expect(page.getByTestId('delete-notice')).toContainText(`its file stays at ${local.path}`);
  await expect(installed.locator('tr', { hasText: 'local-tiny' })).toHaveCount(0);
});
