// Importing a local GGUF by choosing or dropping it. Only the desktop app can learn a file's path (Electron's
// webUtils.getPathForFile, exposed by the preload as window.architectFiles); Electron does not run here, so the
// desktop tests put a stand-in for it on the page before the app loads. The browser tests run without it.
import { expect, test } from '@playwright/test';
import type { Page } from '@playwright/test';
import { runCli } from '../helpers/cli';
import type { ServeProcess } from '../helpers/cli';
import { startServeSkippingSetup } from '../helpers/e2eApp';
import { writeE2eModel } from '../helpers/e2eModels';
import type { ServedModel } from '../helpers/modelServer';
import { makeTempDir } from '../helpers/tempDir';

let server: ServeProcess;
const dataDir = makeTempDir('architect-e2e-models-import-');
const files = makeTempDir('architect-e2e-models-import-files-');
/** The tiny GGUF files on disk, by file name: what the webUtils stand-in answers for a File of that name. */
const onDisk: Record<string, ServedModel> = {};

test.beforeAll(async () => {
  ['dropped-tiny.gguf', 'picked-tiny.gguf', 'elsewhere-tiny.gguf'].forEach((name, i) => {
    onDisk[name] = writeE2eModel(files.path, name, { tiedOutput: true, seed: 21 + i });
  });
  server = await startServeSkippingSetup(dataDir.path);
});

test.afterAll(async () => {
  expect(await server?.stop()).toBe(0);
  dataDir.remove();
  files.remove();
});

/**
 * A stand-in for Electron's webUtils, as the preload exposes it (`window.architectFiles.pathForFile`): the path of
 * the test's file of the same name, '' for any other file (as Electron answers for a File not backed by one on disk).
 */
async function standInForWebUtils(page: Page): Promise<void> {
  const paths = Object.fromEntries(Object.entries(onDisk).map(([name, model]) => [name, model.path]));
  await page.addInitScript((known: Record<string, string>) => {
    const standIn = { pathForFile: (file: File) => known[file.name] ?? '' };
    (window as unknown as { architectFiles: typeof standIn }).architectFiles = standIn;
  }, paths);
}

async function openModels(page: Page): Promise<void> {
  await page.goto(server.url);
  await page.getByRole('navigation').getByRole('button', { name: 'Models' }).click();
  await expect(page.getByRole('heading', { name: 'Models', exact: true })).toBeVisible();
}

/** Drops a file on `selector` the way a person does (as in datasets.spec.ts): dragenter, dragover and drop carrying it. */
async function dropFile(page: Page, selector: string, name: string): Promise<void> {
  await page.evaluate(
    ([target, fileName]) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(['not read: the app imports the file by its path'], fileName!));
      const element = document.querySelector(target!) ?? document.body;
      for (const type of ['dragenter', 'dragover', 'drop']) {
        element.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer }));
      }
    },
    [selector, name],
  );
}

const installedRow = (page: Page, name: string) => page.getByRole('article', { name: 'Installed models' }).locator('tr', { hasText: name });
const datasetsInStore = () => JSON.parse(runCli(['datasets', '--json', '--data-dir', dataDir.path]).stdout) as unknown[];

test('desktop app: a .gguf dropped on the import card is imported by its path, and never reaches the dataset drop', async ({ page }) => {
  await standInForWebUtils(page);
  await openModels(page);
  const card = page.getByRole('form', { name: 'Import a local file' });
  await expect(card.getByRole('button', { name: 'Choose a .gguf file…' })).toBeVisible();
  await expect(card).toContainText('or drop one on this card');
  await expect(page.getByTestId('import-browser-note')).toHaveCount(0);

  await dropFile(page, '[data-testid="import-drop"]', 'dropped-tiny.gguf');
  const model = onDisk['dropped-tiny.gguf']!;
  await expect(page.getByTestId('import-notice')).toContainText(`SHA-256 ${model.sha256.slice(0, 12)}`, { timeout: 30_000 });
  await expect(page.getByTestId('import-notice')).toHaveAttribute('role', 'status');
  const row = installedRow(page, 'dropped-tiny.gguf');
  await expect(row).toContainText(model.path);
  await expect(row).toContainText('imported');
  // The window's dataset drop saw nothing: no page change, no refusal banner, no dataset.
  await expect(page.getByRole('heading', { name: 'Models', exact: true })).toBeVisible();
  await expect(page.locator('.drop-refused')).toHaveCount(0);
  expect(datasetsInStore()).toHaveLength(0);
});

test('desktop app: a .gguf chosen with "Choose a .gguf file…" is imported by its path', async ({ page }, testInfo) => {
  await standInForWebUtils(page);
  await openModels(page);
  const card = page.getByRole('form', { name: 'Import a local file' });
  const chooser = page.waitForEvent('filechooser');
  await card.getByRole('button', { name: 'Choose a .gguf file…' }).click();
  const picker = await chooser;
  expect(await picker.element().getAttribute('accept')).toBe('.gguf');
  const model = onDisk['picked-tiny.gguf']!;
  await picker.setFiles(model.path);

  await expect(page.getByTestId('import-notice')).toContainText(`SHA-256 ${model.sha256.slice(0, 12)}`, { timeout: 30_000 });
  await expect(installedRow(page, 'picked-tiny.gguf')).toContainText(model.path);
  await expect(installedRow(page, 'dropped-tiny.gguf')).toBeVisible(); // the first one stays
  await page.screenshot({ path: testInfo.outputPath('models-import.png'), fullPage: true });
});

test('desktop app: a file that is not a .gguf dropped on the import card is refused there', async ({ page }) => {
  await standInForWebUtils(page);
  await openModels(page);
  const before = await page.getByRole('article', { name: 'Installed models' }).locator('tbody tr').count();
  await dropFile(page, '[data-testid="import-drop"]', 'notes.txt');
  await expect(page.getByTestId('import-notice')).toHaveAttribute('role', 'alert');
  await expect(page.getByTestId('import-notice')).toHaveText('notes.txt is not a .gguf file: models are imported from GGUF files.');
  // It stopped at the card: the dataset drop would have said "not a .jsonl or .json file".
  await expect(page.locator('.drop-refused')).toHaveCount(0);
  await expect(page.getByRole('heading', { name: 'Models', exact: true })).toBeVisible();
  await expect(page.getByRole('article', { name: 'Installed models' }).locator('tbody tr')).toHaveCount(before);
});

test('desktop app: a .gguf dropped elsewhere on the window opens the Models page and imports it, not as a dataset', async ({ page }) => {
  await standInForWebUtils(page);
  await page.goto(server.url);
  await expect(page.getByRole('heading', { name: 'Generate' })).toBeVisible();
  await dropFile(page, 'main', 'elsewhere-tiny.gguf');
  await expect(page.getByRole('heading', { name: 'Models', exact: true })).toBeVisible();
  const model = onDisk['elsewhere-tiny.gguf']!;
  await expect(page.getByTestId('import-notice')).toContainText(`SHA-256 ${model.sha256.slice(0, 12)}`, { timeout: 30_000 });
  await expect(installedRow(page, 'elsewhere-tiny.gguf')).toContainText(model.path);
  await expect(page.locator('.drop-refused')).toHaveCount(0);
  expect(datasetsInStore()).toHaveLength(0);
});

test('browser: no file picker; the card says choosing or dropping works in the desktop app, and a dropped .gguf is refused', async ({ page }, testInfo) => {
  await openModels(page);
  const card = page.getByRole('form', { name: 'Import a local file' });
  await expect(page.getByTestId('import-browser-note')).toContainText('Choosing or dropping a file works in the desktop app.');
  await expect(card.getByRole('button', { name: /Choose a \.gguf file/ })).toHaveCount(0);
  await expect(card.locator('input[type="file"]')).toHaveCount(0);
  await expect(card.getByLabel('Path of a .gguf file on this machine')).toBeVisible();

  // The models the earlier tests installed, from the store: counted on the page only once the list has loaded.
  const rows = (JSON.parse(runCli(['models', '--json', '--data-dir', dataDir.path]).stdout) as { models: unknown[] }).models.length;
  await expect(page.getByRole('article', { name: 'Installed models' }).locator('tbody tr')).toHaveCount(rows);
  await dropFile(page, '[data-testid="import-drop"]', 'dropped-tiny.gguf');
  await expect(page.getByTestId('import-notice')).toHaveAttribute('role', 'alert');
  await expect(page.getByTestId('import-notice')).toContainText('a browser page does not learn a file’s path');
  await expect(page.locator('.drop-refused')).toHaveCount(0);
  await card.screenshot({ path: testInfo.outputPath('models-import-browser.png') });

  // Dropped elsewhere, the window's dataset drop refuses it as a model and stays where it is.
  await page.getByRole('navigation').getByRole('button', { name: 'Generate' }).click();
  await dropFile(page, 'main', 'elsewhere-tiny.gguf');
  await expect(page.locator('.drop-refused')).toContainText('elsewhere-tiny.gguf is a model, not a dataset');
  await expect(page.getByRole('heading', { name: 'Generate' })).toBeVisible();
  expect(datasetsInStore()).toHaveLength(0);
  await page.getByRole('navigation').getByRole('button', { name: 'Models' }).click();
  await expect(page.getByRole('article', { name: 'Installed models' }).locator('tbody tr')).toHaveCount(rows);
});
