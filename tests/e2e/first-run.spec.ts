// First-run setup on a fresh data folder, then the Settings page: real host, real page, real files. The catalog's
// suggestion downloads from a local HF_ENDPOINT (a throttled stand-in for Hugging Face serving a tiny GGUF under the
// catalog's file name), a local GGUF is imported by its path, and an Ollama stand-in answers for the Ollama choice.
import { expect, test } from '@playwright/test';
import type { Page } from '@playwright/test';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { startServe } from '../helpers/cli';
import type { ServeProcess } from '../helpers/cli';
import { withApi } from '../helpers/e2eApp';
import { startSlowHfProxy } from '../helpers/e2eHfProxy';
import type { HfProxy } from '../helpers/e2eHfProxy';
import { writeE2eModel } from '../helpers/e2eModels';
import { startModelServer } from '../helpers/modelServer';
import type { ModelServer, ServedModel } from '../helpers/modelServer';
import { OllamaStandIn } from '../helpers/ollamaStandIn';
import { makeTempDir } from '../helpers/tempDir';

/** The catalog's default (resources/models.json): what a CPU machine is offered. */
const CATALOG_FILE = 'Llama-3.2-1B-Instruct-Q4_K_M.gguf';

let server: ServeProcess;
let models: ModelServer;
let proxy: HfProxy;
let ollama: OllamaStandIn;
let local: ServedModel;
const dataDir = makeTempDir('architect-e2e-first-run-');
const files = makeTempDir('architect-e2e-first-run-files-');

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  const served = writeE2eModel(files.path, CATALOG_FILE, { tiedOutput: true, seed: 31 });
  local = writeE2eModel(files.path, 'setup-tiny.gguf', { tiedOutput: true, seed: 32 });
  models = await startModelServer({ [CATALOG_FILE]: served.path });
  proxy = await startSlowHfProxy(models.url);
  ollama = await OllamaStandIn.start();
  server = await startServe(dataDir.path, { ...process.env, HF_ENDPOINT: proxy.endpoint });
});

test.afterAll(async () => {
  expect(await server?.stop()).toBe(0);
  await ollama?.close();
  await proxy?.close();
  await models?.close();
  dataDir.remove();
  files.remove();
});

const setupDialog = (page: Page) => page.getByRole('dialog', { name: /first-run setup/i });
const appSettings = () => withApi(server.url, (api) => api.app.settings({}));

test('first run: the machine in words, the suggested model downloaded with progress, a local GGUF by path, the data folder, Finish', async ({ page }, testInfo) => {
  const hardware = await withApi(server.url, (api) => api.system.hardware({}));
  await page.goto(server.url);
  const dialog = setupDialog(page);
  await expect(dialog).toBeVisible();
  // The app behind it cannot be used until setup is done or skipped.
  await expect(page.locator('.shell')).toHaveAttribute('inert', '');

  // 1. This machine.
  await expect(dialog.getByRole('heading', { name: 'This machine' })).toBeVisible();
  const headline = dialog.getByTestId('machine-headline');
  await expect(headline).toBeVisible({ timeout: 30_000 });
  if (hardware.compute.backend === 'cpu' || hardware.compute.backend === null) {
    await expect(headline).toContainText('No GPU: everything runs on the CPU');
    await expect(dialog).toContainText('Training works on the CPU, about 10–20× slower than on a GPU');
  } else {
    await expect(headline).toContainText(/train in \d+-bit|too little free memory/);
  }
  await expect(dialog.getByTestId('machine-backend')).toHaveText(hardware.compute.backend ? hardware.compute.backend.toUpperCase() : /^none/);
  await page.screenshot({ path: testInfo.outputPath('first-run-1-machine.png') });
  await dialog.getByRole('button', { name: 'Next' }).click();

  // 2. A base model: nothing chosen yet, so the step can be skipped.
  await expect(dialog.getByRole('heading', { name: 'A base model' })).toBeVisible();
  await expect(dialog.getByRole('button', { name: 'Skip this step' })).toBeVisible();
  const catalog = dialog.getByLabel('Catalog model');
  await expect(catalog.locator('option:checked')).toContainText('(suggested for this machine)');
  await expect(dialog.getByTestId('setup-ollama-status')).toContainText('No Ollama server answers');

  models.throttle(1_000_000); // the 8 MB file takes about 8 s
  await dialog.getByRole('button', { name: /^Download Llama 3\.2 1B Instruct/ }).click();
  const bar = dialog.getByRole('progressbar', { name: `Download progress of ${CATALOG_FILE}` });
  await expect(bar).toBeVisible({ timeout: 15_000 });
  await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow')), { timeout: 15_000 }).toBeGreaterThan(0);
  await page.screenshot({ path: testInfo.outputPath('first-run-2-downloading.png') });
  await expect(dialog.getByRole('button', { name: 'Next' })).toBeVisible(); // a choice was made

  // A local GGUF by its path, while the download goes on.
  await dialog.getByLabel('Path of a .gguf file on this machine').fill(local.path);
  await dialog.getByRole('button', { name: 'Import', exact: true }).click();
  await expect(dialog.getByTestId('setup-import-notice')).toContainText(`SHA-256 ${local.sha256.slice(0, 12)}`, { timeout: 30_000 });

  models.throttle(8_000_000);
  await expect(dialog.getByTestId('setup-download-state')).toHaveText(/^Installed as model \d+/, { timeout: 30_000 });
  // The host told of the finished download: a toast (in the dialog, where it covers none of its buttons) that links to it.
  const toast = page.getByTestId('toasts').getByRole('status', { name: `Done: Downloaded ${CATALOG_FILE}` });
  await expect(toast).toBeVisible({ timeout: 15_000 });
  await expect(toast).toContainText('choose it on the Models page');
  await expect(toast.getByRole('button', { name: 'Show on the Models page' })).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('first-run-download-toast.png') });
  await dialog.getByRole('button', { name: 'Next' }).click();

  // 3. The data folder, with its free space; no control offers to move it.
  await expect(dialog.getByRole('heading', { name: 'The data folder' })).toBeVisible();
  await expect(dialog.getByTestId('data-folder-path')).toHaveText(dataDir.path);
  await expect(dialog.getByTestId('data-folder-free')).toContainText(/GB of .* GB/);
  await expect(dialog).toContainText('architect serve --data-dir DIR');
  await expect(dialog.getByRole('button', { name: /move|change folder/i })).toHaveCount(0);
  await page.screenshot({ path: testInfo.outputPath('first-run-3-folder.png') });
  await dialog.getByRole('button', { name: 'Next' }).click();

  // 4. Ready: Finish is stored.
  await expect(dialog.getByTestId('setup-summary')).toContainText('Base model: Llama 3.2 1B Instruct');
  await dialog.getByRole('button', { name: 'Finish' }).click();
  await expect(dialog).toHaveCount(0);
  await expect(page.locator('.shell')).not.toHaveAttribute('inert', '');
  expect((await appSettings()).settings.firstRun).toEqual({ completed: true, skipped: false });

  const installed = (await withApi(server.url, (api) => api.models.list({}))).models.map((m) => m.path);
  expect(installed).toContain(join(dataDir.path, 'models', CATALOG_FILE));
  expect(installed).toContain(local.path);

  // It does not come back; the bell keeps the download's notification, and its link opens the Models page.
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Generate', exact: true })).toBeVisible();
  await expect(setupDialog(page)).toHaveCount(0);
  await page.getByRole('button', { name: /^Notifications/ }).click();
  const list = page.getByRole('region', { name: 'Recent notifications' });
  await expect(list).toContainText(`Downloaded ${CATALOG_FILE}`);
  await list.getByRole('button', { name: 'Show on the Models page' }).first().click();
  await expect(page.getByRole('heading', { name: 'Models', exact: true })).toBeVisible();
  await expect(list).toHaveCount(0);
});

test('Settings: learning thresholds, reward ranges, theme, tray, backend and Ollama host persist across a reload', async ({ page }, testInfo) => {
  await page.goto(`${server.url}#/settings`);
  await expect(page.getByRole('heading', { name: 'Settings', exact: true })).toBeVisible();
  await expect(page.getByRole('navigation').getByRole('button', { name: 'Settings' })).toHaveAttribute('aria-current', 'page');

  // Learning: a bad value is refused before it is sent, a good one is saved.
  const learning = page.getByRole('form', { name: 'Learning settings' });
  const batch = learning.getByLabel(/^Batch size/);
  await expect(batch).toHaveValue('50');
  await batch.fill('0');
  await expect(learning).toContainText('Give a whole number from 1 to 10,000.');
  await expect(learning.getByRole('button', { name: 'Save learning settings' })).toBeDisabled();
  await batch.fill('7');
  await learning.getByLabel('Minimum reward to train on').fill('0.45');
  await learning.getByRole('button', { name: 'Save learning settings' }).click();
  await expect(learning.getByTestId('learning-settings-result')).toHaveText('Saved.');

  // Rewards: failure threshold above success is refused; a new 👍 range is saved.
  const rewards = page.getByRole('form', { name: 'Reward settings' });
  await rewards.getByLabel('Validation failure threshold (score 0–100)').fill('90');
  await expect(rewards).toContainText('at most the success threshold');
  await expect(rewards.getByRole('button', { name: 'Save reward settings' })).toBeDisabled();
  await rewards.getByLabel('Validation failure threshold (score 0–100)').fill('55');
  await rewards.getByLabel('Thumbs up: reward at the weak end').fill('0.6');
  await rewards.getByRole('button', { name: 'Save reward settings' }).click();
  await expect(rewards.getByTestId('reward-settings-result')).toContainText('Saved');

  // Theme, close to tray, backend.
  await page.getByRole('radio', { name: 'Dark', exact: true }).check();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  const tray = page.getByRole('checkbox', { name: 'Close to tray' });
  await expect(tray).toBeChecked();
  await tray.uncheck();
  await expect(page.getByText('Closing the window quits the app')).toBeVisible();
  const login = page.getByRole('checkbox', { name: 'Start at login (in the tray)' });
  await expect(login).toBeDisabled(); // the headless host cannot set it, and says so
  await expect(page.getByTestId('start-at-login-help')).toContainText('this host cannot set it');
  // CUDA where it cannot run (no NVIDIA GPU here): the card says why; choosing again takes it back.
  const machine = await withApi(server.url, (api) => api.system.hardware({}));
  if (!machine.gpus.some((g) => /nvidia/i.test(g.vendor))) {
    await page.getByLabel('Preferred backend').selectOption('cuda');
    await expect(page.getByTestId('backend-problem')).toContainText('CUDA is chosen as the backend, but', { timeout: 15_000 });
    await page.getByTestId('backend-problem').screenshot({ path: testInfo.outputPath('settings-backend-cuda.png') });
  }
  await page.getByLabel('Preferred backend').selectOption('cpu');
  await expect(page.getByTestId('backend-problem')).toBeHidden();
  await expect(page.getByTestId('backend-help')).toContainText('training jobs whose backend is left at “auto”');
  await expect(page.getByTestId('backend-help')).not.toContainText('does not apply it yet');
  // The runtime switched to the CPU-only one: what runs now says so once it was probed again.
  await expect(page.getByTestId('settings-backend-now')).toHaveText(/^CPU/, { timeout: 15_000 });

  // Ollama host: the stand-in answers there.
  const host = page.getByRole('form', { name: 'Ollama host' });
  await host.getByLabel('Ollama host').fill('not a host');
  await expect(host.getByRole('button', { name: 'Save host' })).toBeDisabled();
  await host.getByLabel('Ollama host').fill(ollama.host);
  await host.getByRole('button', { name: 'Save host' }).click();
  await expect(host.getByTestId('ollama-settings-result')).toHaveText('Saved.');
  await expect(host.getByTestId('settings-ollama-status')).toContainText('Answers', { timeout: 15_000 });
  await expect(page.getByTestId('data-folder-path')).toHaveText(dataDir.path);
  await page.screenshot({ path: testInfo.outputPath('settings-dark.png'), fullPage: true });

  await page.reload();
  await expect(page.getByRole('heading', { name: 'Settings', exact: true })).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await expect(page.getByRole('radio', { name: 'Dark', exact: true })).toBeChecked();
  await expect(page.getByRole('checkbox', { name: 'Close to tray' })).not.toBeChecked();
  await expect(page.getByLabel('Preferred backend')).toHaveValue('cpu');
  await expect(page.getByRole('form', { name: 'Learning settings' }).getByLabel(/^Batch size/)).toHaveValue('7');
  await expect(page.getByRole('form', { name: 'Learning settings' }).getByLabel('Minimum reward to train on')).toHaveValue('0.45');
  await expect(page.getByRole('form', { name: 'Reward settings' }).getByLabel('Thumbs up: reward at the weak end')).toHaveValue('0.6');
  await expect(page.getByRole('form', { name: 'Reward settings' }).getByLabel('Validation failure threshold (score 0–100)')).toHaveValue('55');
  await expect(page.getByRole('form', { name: 'Ollama host' }).getByLabel('Ollama host')).toHaveValue(ollama.host);

  // What the page shows is what the host stores.
  const stored = await withApi(server.url, async (api) => ({
    app: (await api.app.settings({})).settings,
    learning: (await api.learning.status({})).settings,
    rewards: await api.feedback.rewardSettings({}),
    generation: await api.generation.settings({}),
  }));
  expect(stored.app).toMatchObject({ theme: 'dark', closeToTray: false, backend: 'cpu', startAtLogin: false });
  expect(stored.learning).toMatchObject({ batchSize: 7, minRewardThreshold: 0.45 });
  expect(stored.rewards.positive.weak).toBe(0.6);
  expect(stored.rewards.validation.failureBelow).toBe(55);
  expect(stored.generation.ollamaHost).toBe(ollama.host);
});

test('theme: light, dark, and system following prefers-color-scheme, drawn from the CSS variables', async ({ page }) => {
  const rootBackground = () => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  await page.goto(`${server.url}#/settings`);
  await page.getByRole('radio', { name: 'Light', exact: true }).check();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'light');
  await expect.poll(rootBackground).toBe('rgb(243, 245, 248)');
  await page.getByRole('radio', { name: 'Dark', exact: true }).check();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await expect.poll(rootBackground).toBe('rgb(15, 20, 25)');

  await page.getByRole('radio', { name: /^System/ }).check();
  await expect(page.locator('html')).toHaveAttribute('data-theme-choice', 'system');
  await page.emulateMedia({ colorScheme: 'dark' });
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await page.emulateMedia({ colorScheme: 'light' });
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'light');
  await expect.poll(rootBackground).toBe('rgb(243, 245, 248)');
  expect((await appSettings()).settings.theme).toBe('system');
});

test('Run first-run setup again from Settings: an Ollama model for the Generate page', async ({ page }) => {
  await page.goto(`${server.url}#/settings`);
  await expect(page.getByTestId('first-run-state')).toHaveText('Completed.');
  await page.getByRole('button', { name: 'Run first-run setup again' }).click();
  const dialog = setupDialog(page);
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText('First-run setup (again)');
  await dialog.getByRole('button', { name: 'Next' }).click();
  await expect(dialog.getByTestId('setup-installed')).toContainText('setup-tiny.gguf');
  await dialog.getByLabel('Ollama model').selectOption('codellama:7b');
  await dialog.getByRole('button', { name: 'Use it on the Generate page' }).click();
  await expect(dialog).toContainText('The Generate page has codellama:7b selected');
  await dialog.getByRole('button', { name: 'Next' }).click();
  await dialog.getByRole('button', { name: 'Next' }).click();
  await expect(dialog.getByTestId('setup-summary')).toContainText('codellama:7b from Ollama');
  await dialog.getByRole('button', { name: 'Finish' }).click();
  await expect(dialog).toHaveCount(0);
  await page.getByRole('navigation').getByRole('button', { name: 'Generate' }).click();
  await expect(page.getByRole('form', { name: 'Generate' }).getByLabel('Model', { exact: true })).toHaveValue('ollama:codellama:7b');
});

test('settings that no longer read are reset, and the page says so (a banner and an error toast)', async ({ page }) => {
  // Another process (or an old version) left a theme this version does not know.
  const db = new Database(join(dataDir.path, 'architect.db'));
  try {
    const row = db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?').get('app')!;
    db.prepare('UPDATE settings SET value = ? WHERE key = ?').run(JSON.stringify({ ...JSON.parse(row.value), theme: 'purple' }), 'app');
  } finally {
    db.close();
  }
  await page.goto(`${server.url}#/settings`);
  await expect(page.getByTestId('settings-problem')).toContainText('The stored settings were reset: The stored app settings had an invalid theme');
  await expect(page.getByRole('radio', { name: /^System/ })).toBeChecked(); // the default stands in
  await expect(page.getByTestId('toasts').getByRole('alert', { name: 'Problem: The app settings were reset' })).toBeVisible();
  // A change writes the settings whole again: the problem is gone.
  await page.getByRole('radio', { name: 'Light', exact: true }).check();
  await expect(page.getByTestId('settings-problem')).toHaveCount(0);
  await page.getByTestId('toasts').getByRole('button', { name: 'Dismiss “The app settings were reset”' }).click();
  await expect(page.getByTestId('toasts').getByRole('alert')).toHaveCount(0);
});

test('Skip setup on a fresh data folder is stored, and the app opens without it', async ({ page }) => {
  const fresh = makeTempDir('architect-e2e-first-run-skip-');
  const other = await startServe(fresh.path);
  try {
    await page.goto(other.url);
    const dialog = setupDialog(page);
    await expect(dialog).toBeVisible();
    await dialog.getByRole('button', { name: 'Next' }).click();
    await expect(dialog.getByRole('heading', { name: 'A base model' })).toBeVisible();
    await dialog.getByRole('button', { name: 'Skip setup' }).click();
    await expect(dialog).toHaveCount(0);
    expect((await withApi(other.url, (api) => api.app.settings({}))).settings.firstRun).toEqual({ completed: false, skipped: true });
    await page.reload();
    await expect(page.getByRole('heading', { name: 'Generate', exact: true })).toBeVisible();
    await expect(setupDialog(page)).toHaveCount(0);
  } finally {
    expect(await other.stop()).toBe(0);
    fresh.remove();
  }
});
