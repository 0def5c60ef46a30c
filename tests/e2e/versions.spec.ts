import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import type { Page } from '@playwright/test';
import { runCli } from '../helpers/cli';
import type { ServeProcess } from '../helpers/cli';
import { startServeSkippingSetup } from '../helpers/e2eApp';
import { E2E_MODEL, importModel, writeE2eModel } from '../helpers/e2eModels';
import { OllamaStandIn } from '../helpers/ollamaStandIn';
import { makeTempDir } from '../helpers/tempDir';

let server: ServeProcess;
let ollama: OllamaStandIn;
let model: { id: number; name: string };
let other: { id: number; name: string };
const dataDir = makeTempDir('architect-e2e-versions-');
const files = makeTempDir('architect-e2e-versions-files-');

// Six short ERD examples (one held out), so the versions have the erd kind and the gate has a held-out set.
const LINES = Array.from({ length: 6 }, (_, i) => JSON.stringify({ kind: 'erd', prompt: `Draw entity ${i + 1}`, completion: `erDiagram\n  A${i + 1} ||--o{ B${i + 1} : has` }));

/** Trains one version through the job supervisor, as a user would from a terminal: `architect train`. */
function train(epochs: number): void {
  const result = runCli(['train', '--model', String(model.id), '--dataset', '1', '--epochs', String(epochs), '--threads', '1', '--data-dir', dataDir.path]);
  if (result.status !== 0) throw new Error(`architect train exited with ${result.status}:\n${result.stdout}\n${result.stderr}`);
}

test.beforeAll(async () => {
  test.setTimeout(180_000);
  model = importModel(dataDir.path, writeE2eModel(files.path).path);
  // A second base (other weights, the same name): a kind moves to it only with an explicit "switch base".
  other = importModel(dataDir.path, writeE2eModel(files.path, 'tiny-other.gguf', { ...E2E_MODEL, seed: 11 }).path);
  const data = join(files.path, 'entities.jsonl');
  writeFileSync(data, `${LINES.join('\n')}\n`);
  const imported = runCli(['import', data, '--json', '--data-dir', dataDir.path]);
  if (imported.status !== 0) throw new Error(`architect import exited with ${imported.status}:\n${imported.stdout}\n${imported.stderr}`);
  // v1 and v2 of the first base, different runs so the two write differently.
  train(2);
  train(4);
  ollama = await OllamaStandIn.start();
  server = await startServeSkippingSetup(dataDir.path);
});

test.afterAll(async () => {
  const code = await server?.stop();
  expect(code, server?.output()).toBe(0);
  await ollama?.close();
  dataDir.remove();
  files.remove();
});

const nav = (page: Page, name: string) => page.getByRole('navigation').getByRole('button', { name }).click();

test('versions on the Models page: activate, serve, roll back, undo, switch base, compare, export, publish, the gate’s news, delete', async ({ page }, testInfo) => {
  test.setTimeout(300_000);
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.goto(server.url);

  // Short, single-threaded generations (the saved defaults Compare uses too): this machine has two busy cores.
  const form = page.getByRole('form', { name: 'Generate' });
  await form.getByText('Sampling settings').click();
  await form.getByLabel('Max tokens').fill('40');
  await form.getByLabel('Context size').fill('1024');
  await form.getByLabel('CPU threads').fill('1');
  await form.getByRole('button', { name: 'Save as the defaults' }).click();
  await expect(form.getByText('Saved as the defaults.')).toBeVisible();

  // The picker's first, default choice is what serves the kind, named; the versions are there to pick too.
  const picker = form.getByLabel('Model', { exact: true });
  await expect(picker).toHaveValue('active');
  await expect(picker.locator('option:checked')).toHaveText(`What serves this kind (ERD: the plain base of ${model.name} (model ${model.id}))`);
  await expect(picker.locator(`option[value="local:${model.id}:1"]`)).toHaveText(`${model.name} · v1 (candidate)`);
  await expect(picker.locator(`option[value="local:${model.id}:2"]`)).toHaveText(`${model.name} · v2 (candidate)`);
  await expect(form.getByRole('radio', { name: 'Adapter file' })).toBeDisabled();

  await nav(page, 'Models');
  const section = page.getByRole('region', { name: 'Versions' });
  const base = section.getByRole('article', { name: `Versions of ${model.name} (model ${model.id})` });
  const v1 = base.getByTestId('version-row-1');
  const v2 = base.getByTestId('version-row-2');
  await expect(v1).toBeVisible();
  await expect(v2).toBeVisible();
  // Newest first, the plain base last.
  await expect(base.locator('tbody.version')).toHaveCount(3);
  await expect(base.locator('tbody.version').first()).toHaveAttribute('data-testid', 'version-row-2');
  await expect(v1.getByTestId('version-status')).toHaveText('candidate');
  await expect(v1.getByTestId('version-loss')).toHaveText(/^\d+\.\d{3}$/);
  await expect(v1.getByTestId('version-valid')).toHaveText(/^\d\/1 \(\d+%\)$/);
  await expect(v1).toContainText('5 / 1 held out');
  await expect(base.getByTestId('version-gate-1')).toContainText(/v1 is (better|not better) than the plain base: held-out loss \d+\.\d+ vs \d+\.\d+/);

  const serving = section.getByRole('article', { name: 'Serving' });
  const erd = serving.getByTestId('serving-erd');
  const modelLabel = `${model.name} (model ${model.id})`;
  await expect(erd.getByTestId('serving-what')).toHaveText(`the plain base of ${modelLabel} (the default)`);
  await expect(erd.getByRole('button', { name: 'Roll back ERD' })).toBeDisabled(); // nothing was chosen yet
  await expect(erd.getByRole('button', { name: 'Undo the last change of ERD' })).toBeDisabled();
  await section.scrollIntoViewIfNeeded();
  await page.screenshot({ path: testInfo.outputPath('versions-start.png') });

  // Activate v1 for erd: its own kinds are checked already.
  await v1.getByRole('button', { name: 'Activate v1' }).click();
  const activate = base.getByRole('form', { name: 'Activate v1' });
  await expect(activate.getByRole('checkbox', { name: /^ERD/ })).toBeChecked();
  await expect(activate.getByRole('checkbox', { name: /^Flowchart/ })).not.toBeChecked();
  await activate.scrollIntoViewIfNeeded();
  await page.screenshot({ path: testInfo.outputPath('versions-activate.png') });
  await activate.getByRole('button', { name: 'Activate v1' }).click();
  await expect(erd.getByTestId('serving-what')).toHaveText(`v1 of ${modelLabel}`);
  await expect(v1.getByTestId('version-status')).toHaveText('active');
  await expect(v1.getByTestId('version-serves')).toHaveText('erd');
  await expect(base.getByTestId('version-notice-1')).toHaveText('v1 now serves erd.');
  await expect(serving.getByTestId('serving-flowchart').getByTestId('serving-what')).toHaveText(`the plain base of ${modelLabel} (the default)`);

  // A serving version cannot be deleted: the server says why.
  await v1.getByRole('button', { name: 'Delete v1' }).click();
  await base.getByRole('alertdialog', { name: 'Delete v1?' }).getByRole('button', { name: 'Delete' }).click();
  await expect(base.getByTestId('version-notice-1')).toHaveText('v1 serves erd; activate or roll back to another version first.');
  await expect(v1).toBeVisible();

  // Generation through "What serves this kind" uses v1 now.
  await nav(page, 'Generate');
  await expect(picker.locator('option:checked')).toHaveText(`What serves this kind (ERD: v1 of ${modelLabel})`);
  await expect(page.getByTestId('serving-note')).toHaveText(`ERD is served by v1 of ${modelLabel}; the Models page changes that.`);
  await form.getByRole('textbox', { name: 'Requirements' }).fill('Customers place orders.');
  await form.getByRole('button', { name: 'Generate', exact: true }).click();
  await expect(page.getByTestId('generate-result')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByRole('article', { name: 'Generation' }).getByTestId('stat-adapter')).toHaveText('v1');
  await form.scrollIntoViewIfNeeded();
  await page.screenshot({ path: testInfo.outputPath('generate-serving.png') });
  await nav(page, 'Models');

  // Roll back (to the previous: the plain base), then undo the rollback.
  await expect(erd.getByLabel('Roll ERD back to')).toHaveValue('');
  await expect(erd.getByLabel('Roll ERD back to').locator('option:checked')).toHaveText('previous: plain base');
  await erd.getByRole('button', { name: 'Roll back ERD' }).click();
  await expect(erd.getByTestId('serving-what')).toHaveText(`the plain base of ${modelLabel}`);
  await expect(serving.getByTestId('serving-notice-erd')).toHaveText(`Rolled back: the plain base of ${model.name} serves erd.`);
  await expect(v1.getByTestId('version-status')).toHaveText('archived');
  await expect(erd.getByTestId('serving-last')).toHaveText(/^rolled back to the plain base \(rollback, \d{4}-\d\d-\d\d \d\d:\d\d\)$/);
  await erd.getByRole('button', { name: 'Undo the last change of ERD' }).click();
  await expect(erd.getByTestId('serving-what')).toHaveText(`v1 of ${modelLabel}`);
  await expect(v1.getByTestId('version-status')).toHaveText('active');

  // Or roll back to a chosen version.
  await erd.getByLabel('Roll ERD back to').selectOption({ label: 'v2 (candidate)' });
  await erd.getByRole('button', { name: 'Roll back ERD' }).click();
  await expect(erd.getByTestId('serving-what')).toHaveText(`v2 of ${modelLabel}`);
  await erd.getByRole('button', { name: 'Undo the last change of ERD' }).click();
  await expect(erd.getByTestId('serving-what')).toHaveText(`v1 of ${modelLabel}`);

  // The other base serves erd only once the user chose to switch the base; the server asks, the page asks the user.
  const second = section.getByRole('article', { name: `Versions of ${other.name} (model ${other.id})` });
  await second.getByRole('button', { name: `Activate the plain base of ${other.name}` }).click();
  const activateBase = second.getByRole('form', { name: 'Activate the plain base' });
  await activateBase.getByRole('checkbox', { name: /^ERD/ }).check();
  await activateBase.getByRole('checkbox', { name: 'Also the default for kinds with no choice of their own' }).uncheck();
  await expect(activateBase).toContainText(`ERD is served by ${model.name} (model ${model.id}): activating switches its base`);
  await activateBase.getByRole('button', { name: 'Activate the plain base' }).click();
  const ask = activateBase.getByRole('alertdialog', { name: 'Switch base?' });
  await expect(ask).toContainText('Choose to switch the base (switchBase)');
  await expect(erd.getByTestId('serving-what')).toHaveText(`v1 of ${modelLabel}`); // nothing changed yet
  await page.screenshot({ path: testInfo.outputPath('versions-switch-base.png') });
  await ask.getByRole('button', { name: 'Switch base and activate' }).click();
  await expect(erd.getByTestId('serving-what')).toHaveText(`the plain base of ${other.name} (model ${other.id})`);
  await expect(second.getByTestId(`base-row-${other.id}`).getByTestId('version-serves')).toHaveText('erd');
  await erd.getByRole('button', { name: 'Undo the last change of ERD' }).click();
  await expect(erd.getByTestId('serving-what')).toHaveText(`v1 of ${modelLabel}`);

  // Compare v1 with v2 on one prompt: both outputs, each with its validation.
  const compare = section.getByRole('article', { name: 'Compare' });
  await expect(compare.getByLabel('Left')).toHaveValue('1');
  await expect(compare.getByLabel('Right')).toHaveValue('2');
  await expect(compare.getByLabel('Kind')).toHaveValue('erd');
  await expect(compare).toContainText('at most 40 tokens');
  await compare.getByLabel('Prompt (requirements)').fill('Customers place orders; each order has line items.');
  await compare.getByRole('button', { name: 'Compare' }).click();
  const left = compare.getByRole('article', { name: 'Output of v1' });
  const right = compare.getByRole('article', { name: 'Output of v2' });
  await expect(left).toBeVisible({ timeout: 90_000 });
  await expect(right).toBeVisible();
  for (const side of [left, right]) {
    await expect(side.getByTestId('compare-output')).not.toBeEmpty();
    await expect(side.getByTestId('validation-score')).toHaveText(/^\d+\/100$/);
    await expect(side.getByRole('list', { name: 'Validation reasons' })).not.toBeEmpty();
  }
  await expect(compare.getByTestId('compare-seed')).toHaveText(/^Both sides used seed \d+\.$/);
  await compare.scrollIntoViewIfNeeded();
  await page.screenshot({ path: testInfo.outputPath('versions-compare.png') });

  // Export v2's adapter to the default path (the app makes its exports folder on first use).
  await v2.getByRole('button', { name: 'Export v2' }).click();
  const exporting = base.getByRole('form', { name: 'Export v2' });
  const exportPath = join(dataDir.path, 'exports', `${model.name}-v2.gguf`);
  await expect(exporting.getByLabel('File to write')).toHaveValue(exportPath);
  await exporting.getByRole('radio', { name: /Merged into its base/ }).check();
  await expect(exporting.getByLabel('File to write')).toHaveValue(join(dataDir.path, 'exports', `${model.name}-v2-merged.gguf`));
  await exporting.getByRole('radio', { name: /The adapter alone/ }).check();
  await exporting.getByRole('button', { name: 'Export' }).click();
  await expect(exporting.getByTestId('export-notice')).toHaveText(new RegExp(`^Wrote ${exportPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(\\d+\\.\\d (kB|MB), SHA-256 [0-9a-f]{12}…\\)\\.$`));
  expect(statSync(exportPath).size).toBeGreaterThan(0);

  // Publish v2 to Ollama (the stand-in): the merged GGUF goes up with progress, then the model is created.
  const host = page.getByRole('form', { name: 'Ollama host' });
  await host.getByLabel('Host').fill(ollama.host);
  await host.getByRole('button', { name: 'Save host' }).click();
  await expect(page.getByTestId('ollama-status')).toContainText('Reachable', { timeout: 15_000 });
  await v2.getByRole('button', { name: 'Publish v2' }).click();
  const publishing = base.getByRole('form', { name: 'Publish v2 to Ollama' });
  await expect(publishing.getByLabel('Ollama model name')).toHaveValue('architect-erd:v2');
  await expect(publishing.getByTestId('publish-host')).toContainText(ollama.host);
  await watchProgress(page);
  await publishing.getByRole('button', { name: 'Publish' }).click();
  await expect(publishing.getByTestId('publish-notice')).toHaveText(new RegExp(`^Published architect-erd:v2 to Ollama at ${ollama.host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(merged GGUF, sha256:`), {
    timeout: 60_000,
  });
  expect(await progressSeen(page)).toBeGreaterThan(0); // the bar showed the server's progress while it ran
  expect(ollama.requestsTo('/api/create', 'POST')).toHaveLength(1);
  await publishing.scrollIntoViewIfNeeded();
  await page.screenshot({ path: testInfo.outputPath('versions-publish.png') });

  // A third version trained by the app itself: the gate's verdict arrives as a notice, in words and numbers.
  await nav(page, 'Training');
  const start = page.getByRole('form', { name: 'New training job' });
  await start.getByLabel('Epochs').fill('2');
  await start.getByLabel('CPU threads').fill('1');
  await start.getByRole('button', { name: 'Start training' }).click();
  await nav(page, 'Models');
  const gated = section.getByTestId('gated-3');
  await expect(gated).toContainText(/^New version v3 of .+ \(manual job\): v3 is (better|not better) than (the plain base|v\d): held-out loss \d/, { timeout: 120_000 });
  await expect(gated).toContainText('It is a candidate: activate it to use it.');
  await expect(base.getByTestId('version-row-3')).toBeVisible();
  await section.scrollIntoViewIfNeeded();
  await page.screenshot({ path: testInfo.outputPath('versions-gated.png') });
  await page.screenshot({ path: testInfo.outputPath('versions-full.png'), fullPage: true });

  // A version that serves nothing is deleted after a confirmation.
  await base.getByTestId('version-row-3').getByRole('button', { name: 'Delete v3' }).click();
  await base.getByRole('alertdialog', { name: 'Delete v3?' }).getByRole('button', { name: 'Delete' }).click();
  await expect(base.getByTestId('group-notice')).toHaveText(`Deleted v3 of ${model.name} and its files.`);
  await expect(base.getByTestId('version-row-3')).toHaveCount(0);
});

/** Counts the moments a progress bar of an export or publish was on screen with a phase. */
async function watchProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __progress: number };
    w.__progress = 0;
    setInterval(() => {
      if (document.querySelector('[role="progressbar"][aria-label="Publish progress"][aria-valuetext]:not([aria-valuetext="starting"])')) w.__progress++;
    }, 5);
  });
}
const progressSeen = (page: Page) => page.evaluate(() => (window as unknown as { __progress: number }).__progress);
