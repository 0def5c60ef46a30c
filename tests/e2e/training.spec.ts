import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import type { Locator, Page } from '@playwright/test';
import { runCli } from '../helpers/cli';
import type { ServeProcess } from '../helpers/cli';
import { startServeSkippingSetup } from '../helpers/e2eApp';
import { E2E_MODEL, importModel, writeE2eModel } from '../helpers/e2eModels';
import { makeTempDir } from '../helpers/tempDir';

let server: ServeProcess;
let model: { id: number; name: string };
let other: { id: number; name: string };
let split: { train: number; validation: number };
const dataDir = makeTempDir('architect-e2e-training-');
const files = makeTempDir('architect-e2e-training-files-');

// Five short prompt/completion pairs: a few training examples and one held out, so a step takes milliseconds on the tiny model.
const LINES = Array.from({ length: 5 }, (_, i) => JSON.stringify({ prompt: `Draw entity ${i + 1}`, completion: `erDiagram\n  A${i + 1} ||--o{ B${i + 1} : has` }));
const VALID_ERD = 'erDiagram\n  CUSTOMER ||--o{ ORDER : places\n  ORDER ||--|{ LINE_ITEM : contains\n  CUSTOMER {\n    string id PK\n    string name\n  }';

test.beforeAll(async () => {
  model = importModel(dataDir.path, writeE2eModel(files.path).path);
  // An architecture our trainer does not train: listed, but not offered for training.
  other = importModel(dataDir.path, writeE2eModel(files.path, 'tiny-qwen3.gguf', { ...E2E_MODEL, nEmbd: 16, nFf: 32, architecture: 'qwen3' }).path);
  const data = join(files.path, 'entities.jsonl');
  writeFileSync(data, `${LINES.join('\n')}\n`);
  const imported = runCli(['import', data, '--json', '--data-dir', dataDir.path]);
  if (imported.status !== 0) throw new Error(`architect import exited with ${imported.status}:\n${imported.stdout}\n${imported.stderr}`);
  split = (JSON.parse(imported.stdout) as { dataset: { train: number; validation: number } }).dataset;
  server = await startServeSkippingSetup(dataDir.path);
});

test.afterAll(async () => {
  const code = await server?.stop();
  expect(code, server?.output()).toBe(0);
  dataDir.remove();
  files.remove();
});

/** The trainer child processes of the server (Linux: /proc), by id. */
function trainerPids(parent: number): number[] {
  const children = readdirSync(`/proc/${parent}/task`).flatMap((task) => readFileSync(`/proc/${parent}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
  return children.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('workers/trainer.js');
    } catch {
      return false; // it ended meanwhile
    }
  });
}

const stepOf = async (bar: Locator) => Number(await bar.getAttribute('aria-valuenow'));
const pointsOf = async (page: Page) => Number(await page.getByTestId('loss-chart').getAttribute('data-points'));

test('train from the Training page: progress and curve live, pause, resume, a queued second job, cancel; then the Learning page', async ({ page }, testInfo) => {
  test.setTimeout(300_000);
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.goto(server.url);
  await page.getByRole('navigation').getByRole('button', { name: 'Training' }).click();
  await expect(page.getByRole('heading', { name: 'Training', level: 1 })).toBeVisible();
  const form = page.getByRole('form', { name: 'New training job' });

  // The pickers: the trainable model chosen, the other listed but disabled with its reason; the dataset with its split.
  const picker = form.getByLabel('Base model');
  await expect(picker).toHaveValue(String(model.id));
  await expect(picker.locator(`option[value="${other.id}"]`)).toBeDisabled();
  await expect(picker.locator(`option[value="${other.id}"]`)).toContainText('generation only');
  await expect(form.locator('#training-model-note')).toContainText('pick a 4-bit file on the Models page for QLoRA');
  await expect(form.getByLabel('Dataset')).toHaveValue('1');
  await expect(form.getByLabel('Dataset').locator('option:checked')).toHaveText(`entities — 5 examples (${split.train} train / ${split.validation} validation)`);

  // Every hyperparameter is prefilled with TrainingConfig's defaults.
  await expect(form.getByLabel('Epochs')).toHaveValue('3');
  await expect(form.getByLabel('Learning rate')).toHaveValue('0.0002');
  await expect(form.getByLabel('Batch size')).toHaveValue('1');
  await expect(form.getByLabel('Grad accumulation')).toHaveValue('1');
  await expect(form.getByLabel('LoRA rank')).toHaveValue('8');
  await expect(form.getByLabel('LoRA alpha')).toHaveValue('16');
  await expect(form.getByLabel('LoRA dropout')).toHaveValue('0.05');
  await expect(form.getByLabel('Max length')).toHaveValue('512');
  await expect(form.getByLabel('Validation share')).toHaveValue('0.1');
  await expect(form.getByLabel('Schedule')).toHaveValue('cosine');
  await expect(form.getByLabel('Warm-up steps')).toHaveValue('0');
  await expect(form.getByLabel('Seed')).toHaveValue('42');
  await expect(form.getByLabel('CPU threads')).toHaveValue('');
  await expect(form.getByLabel('Backend')).toHaveValue('auto');
  await expect(form.getByLabel('Gradient checkpointing')).not.toBeChecked();
  for (const t of ['attn_q', 'attn_k', 'attn_v', 'attn_output']) await expect(form.getByRole('checkbox', { name: t })).toBeChecked();
  for (const t of ['ffn_gate', 'ffn_up', 'ffn_down']) await expect(form.getByRole('checkbox', { name: t })).not.toBeChecked();

  // Values out of TrainingConfig's bounds are refused in the page, field by field.
  const start = form.getByRole('button', { name: 'Start training' });
  await expect(start).toBeEnabled();
  await form.getByLabel('Epochs').fill('0');
  await expect(form.getByTestId('field-error-epochs')).toHaveText('Epochs must be at least 1');
  await expect(start).toBeDisabled();
  await form.getByLabel('Epochs').fill('1001');
  await expect(form.getByTestId('field-error-epochs')).toHaveText('Epochs must be at most 1000');
  await form.getByLabel('LoRA dropout').fill('1');
  await expect(form.getByTestId('field-error-dropout')).toHaveText('LoRA dropout must be below 1');
  await form.getByLabel('LoRA rank').fill('2.5');
  await expect(form.getByTestId('field-error-rank')).toHaveText('LoRA rank must be a whole number');
  for (const t of ['attn_q', 'attn_k', 'attn_v', 'attn_output']) await form.getByRole('checkbox', { name: t }).uncheck();
  await expect(form.getByText('Target modules needs at least one module')).toBeVisible();
  await expect(form.getByTestId('training-blocked')).toHaveText('Epochs must be at most 1000.');
  await page.screenshot({ path: testInfo.outputPath('training-form-errors.png'), fullPage: true });
  await form.getByRole('button', { name: 'Reset to defaults' }).click();
  await expect(form.getByLabel('Epochs')).toHaveValue('3');
  await expect(form.getByRole('checkbox', { name: 'attn_q' })).toBeChecked();
  await expect(form.getByTestId('field-error-epochs')).toHaveCount(0);

  // 300 epochs of the training examples at batch 1 (1200 steps, about 20 ms each here), on one thread (CI has two cores):
  // long enough to pause, resume and queue another job while it runs.
  const epochs = 300;
  const total = epochs * split.train;
  await form.getByLabel('Epochs').fill(String(epochs));
  await form.getByLabel('CPU threads').fill('1');
  await expect(start).toBeEnabled();
  await start.click();
  await expect(form.getByTestId('training-start-notice')).toHaveText('Job 1 started.');

  // The job runs: the bar rises, the figures fill in, the chart draws.
  const panel = page.getByRole('article', { name: 'Job', exact: true });
  await expect(panel).toHaveAttribute('data-job-id', '1');
  const bar = panel.getByRole('progressbar', { name: 'Training progress' });
  await expect(panel.getByTestId('job-status')).toHaveText('running', { timeout: 30_000 });
  await expect(bar).toHaveAttribute('aria-valuemax', String(total), { timeout: 30_000 });
  await expect.poll(() => stepOf(bar), { timeout: 30_000 }).toBeGreaterThan(5);
  const early = await stepOf(bar);
  await expect.poll(() => stepOf(bar)).toBeGreaterThan(early);
  await expect(panel.getByTestId('job-step')).toHaveText(new RegExp(`^[\\d,]+ / ${total.toLocaleString('en-US')}$`));
  await expect(panel.getByTestId('job-epoch')).toHaveText(new RegExp(`^\\d+\\.\\d\\d of ${epochs}$`));
  await expect(panel.getByTestId('job-elapsed')).toHaveText(/\d s$/);
  await expect(panel.getByTestId('job-eta')).toHaveText(/\d s$/);
  await expect(panel.getByTestId('job-lr')).toHaveText(/^\d\.\d\de[-+]\d+$/);
  await expect(panel.getByTestId('job-train-loss')).toHaveText(/^\d+\.\d{4}$/);
  await expect(panel.getByTestId('job-memory')).toHaveText(/iB$/);
  await expect(panel.getByTestId('gpu-memory')).toContainText(/CPU: no GPU memory to show|GPU memory/);
  await expect(panel.getByTestId('loss-chart').locator('canvas')).toBeVisible();
  await expect.poll(() => pointsOf(page)).toBeGreaterThan(5);
  const drawn = await pointsOf(page);
  await panel.locator('canvas').evaluate((el) => (el.dataset.mark = 'kept'));
  await expect.poll(() => pointsOf(page)).toBeGreaterThan(drawn);
  await expect(panel.locator('canvas[data-mark="kept"]')).toHaveCount(1); // drawn in place as steps arrive, never re-created
  // Running: Pause and Cancel, not Resume.
  await expect(panel.getByRole('button', { name: 'Pause' })).toBeEnabled();
  await expect(panel.getByRole('button', { name: 'Cancel' })).toBeEnabled();
  await expect(panel.getByRole('button', { name: 'Resume' })).toBeDisabled();
  await page.screenshot({ path: testInfo.outputPath('training-running.png') });
  await page.screenshot({ path: testInfo.outputPath('training-running-full.png'), fullPage: true });

  // Pause: the job stops at a checkpoint; Resume and Cancel are offered.
  await panel.getByRole('button', { name: 'Pause' }).click();
  await expect(panel.getByTestId('job-status')).toHaveText('paused', { timeout: 30_000 });
  await expect(panel.getByTestId('job-message')).toContainText('Paused at step');
  await expect(panel.getByRole('button', { name: 'Resume' })).toBeEnabled();
  await expect(panel.getByRole('button', { name: 'Cancel' })).toBeEnabled();
  await expect(panel.getByRole('button', { name: 'Pause' })).toBeDisabled();
  const paused = await stepOf(bar);
  expect(paused).toBeLessThan(total);

  // Resume: it goes on from there.
  await panel.getByRole('button', { name: 'Resume' }).click();
  await expect(panel.getByTestId('job-status')).toHaveText('running', { timeout: 30_000 });
  await expect.poll(() => stepOf(bar), { timeout: 30_000 }).toBeGreaterThan(paused);

  // A second job while the first runs is queued, and the page says so.
  await form.getByLabel('Epochs').fill('1000');
  await start.click();
  await expect(form.getByTestId('training-start-notice')).toContainText('Job 2 queued. Queued behind job 1');
  await expect(panel).toHaveAttribute('data-job-id', '2');
  await expect(panel.getByTestId('job-status')).toHaveText('queued');
  await expect(panel.getByRole('button', { name: 'Pause' })).toBeEnabled();
  await expect(panel.getByRole('button', { name: 'Cancel' })).toBeEnabled();
  await expect(panel.getByRole('button', { name: 'Resume' })).toBeDisabled();

  // Job history: a click shows a job's curve; the first runs to the end and writes v1.
  const history = page.getByRole('article', { name: 'Job history' });
  await expect(history.locator('tbody tr')).toHaveCount(2);
  await history.getByRole('button', { name: 'Show job 1' }).click();
  await expect(panel).toHaveAttribute('data-job-id', '1');
  await expect(panel.getByTestId('job-status')).toHaveText('succeeded', { timeout: 180_000 });
  await expect(panel.getByTestId('job-version')).toHaveText('v1');
  await expect(panel.getByTestId('job-message')).toContainText('Wrote v1');
  await expect(bar).toHaveAttribute('aria-valuenow', String(total));
  await expect.poll(() => pointsOf(page)).toBe(total); // every step once, the ones redone after the resume included
  expect(Number(await page.getByTestId('loss-chart').getAttribute('data-validation-points'))).toBeGreaterThan(1);
  for (const name of ['Pause', 'Resume', 'Cancel']) await expect(panel.getByRole('button', { name })).toBeDisabled();
  const row1 = history.getByTestId('job-row-1');
  await expect(row1.getByTestId('job-row-status')).toHaveText('succeeded');
  await expect(row1.getByTestId('job-row-version')).toHaveText('v1');
  await expect(row1.getByTestId('job-row-steps')).toHaveText(`${total.toLocaleString('en-US')} / ${total.toLocaleString('en-US')}`);
  await page.screenshot({ path: testInfo.outputPath('training-finished.png') });
  await panel.getByTestId('loss-chart').screenshot({ path: testInfo.outputPath('loss-chart-finished.png') });
  await page.screenshot({ path: testInfo.outputPath('training-finished-full.png'), fullPage: true });

  // The second job starts once the first is done; Cancel stops it.
  await history.getByRole('button', { name: 'Show job 2' }).click();
  await expect(panel).toHaveAttribute('data-job-id', '2');
  await expect(panel.getByTestId('job-status')).toHaveText('running', { timeout: 30_000 });
  await expect.poll(() => stepOf(bar), { timeout: 30_000 }).toBeGreaterThan(0);
  await expect.poll(() => pointsOf(page)).toBeGreaterThan(0);
  await panel.getByRole('button', { name: 'Cancel' }).click();
  await expect(panel.getByTestId('job-status')).toHaveText('cancelled', { timeout: 30_000 });
  await expect(panel.getByTestId('job-message')).toContainText('Cancelled');
  for (const name of ['Pause', 'Resume', 'Cancel']) await expect(panel.getByRole('button', { name })).toBeDisabled();
  await expect(history.getByTestId('job-row-2').getByTestId('job-row-status')).toHaveText('cancelled');

  // A trainer that dies fails its job: the page shows why, with the trainer's log in a collapsible block; Resume
  // continues it from its last checkpoint, Cancel ends it.
  await start.click();
  await expect(form.getByTestId('training-start-notice')).toHaveText('Job 3 started.');
  await expect(panel).toHaveAttribute('data-job-id', '3');
  await expect(panel.getByTestId('job-status')).toHaveText('running', { timeout: 30_000 });
  await expect.poll(() => stepOf(bar), { timeout: 30_000 }).toBeGreaterThan(25); // past its first checkpoint (every 10 steps)
  const [trainer] = trainerPids(server.child.pid!);
  expect(trainer).toBeDefined();
  process.kill(trainer!, 'SIGKILL');
  await expect(panel.getByTestId('job-status')).toHaveText('failed', { timeout: 30_000 });
  await expect(panel.getByRole('alert')).toContainText('The trainer stopped unexpectedly');
  await expect(panel.getByRole('alert')).toContainText('resume continues from there');
  const log = panel.locator('details.job-log');
  await expect(log.locator('summary')).toHaveText(/^Trainer log \(\d+ lines\)$/);
  await expect(log.locator('pre')).toBeHidden(); // collapsed until asked for
  await log.locator('summary').click();
  await expect(log.locator('pre')).toBeVisible();
  await expect(log.locator('pre')).toContainText('prepared on');
  await expect(panel.getByRole('button', { name: 'Resume' })).toBeEnabled();
  await expect(panel.getByRole('button', { name: 'Cancel' })).toBeEnabled();
  await expect(panel.getByRole('button', { name: 'Pause' })).toBeDisabled();
  await page.screenshot({ path: testInfo.outputPath('training-failed.png') });
  const failedAt = await stepOf(bar);
  await panel.getByRole('button', { name: 'Resume' }).click();
  await expect(panel.getByTestId('job-status')).toHaveText('running', { timeout: 30_000 });
  await expect.poll(() => stepOf(bar), { timeout: 30_000 }).toBeGreaterThan(failedAt);
  await panel.getByRole('button', { name: 'Cancel' }).click();
  await expect(panel.getByTestId('job-status')).toHaveText('cancelled', { timeout: 30_000 });

  // An adaptive job from feedback (batch size 1, another process): the supervisor serves it, and the Learning page shows it live.
  expect(runCli(['learning', 'set', '--batch-size', '1', '--data-dir', dataDir.path]).status).toBe(0);
  const added = runCli(['artifact', 'add', '--kind', 'erd', '--prompt', 'Customers place orders', '--output', VALID_ERD, '--json', '--data-dir', dataDir.path]);
  expect(added.status, added.stderr).toBe(0);
  await page.getByRole('navigation').getByRole('button', { name: 'Learning' }).click();
  const adaptive = page.getByRole('article', { name: 'Adaptive training jobs' });
  const job4 = adaptive.getByTestId('adaptive-job-4');
  await expect(job4).toBeVisible({ timeout: 30_000 });
  await expect(job4).toContainText('batch #1');
  await expect(job4.getByTestId('adaptive-job-status')).toHaveText('succeeded', { timeout: 60_000 });
  await expect(job4.getByTestId('adaptive-job-version')).toContainText('v2'); // on top of v1, the latest version of this base
  await expect(page.getByTestId('batch-1')).toContainText('succeeded');
  await expect(page.getByTestId('learning-queued-jobs')).toHaveText('0'); // recounted as the job changed
  await page.screenshot({ path: testInfo.outputPath('learning-jobs.png'), fullPage: true });

  // ... and the Training page lists it with the manual ones.
  await page.getByRole('navigation').getByRole('button', { name: 'Training' }).click();
  await expect(history.locator('tbody tr')).toHaveCount(4);
  await expect(history.getByTestId('job-row-4')).toContainText('adaptive');
  await expect(history.getByTestId('job-row-4')).toContainText('feedback batch #1');
});
