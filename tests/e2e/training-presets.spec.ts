// The Training page's preset, through the real headless host (`architect serve`) and the tiny model: the preset for
// the picked model with its reasoning, "Use preset" filling the form, the form's values checked against this
// machine with the guide's remedies when they do not fit, and the time estimate once a job has measured the speed.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { runCli } from '../helpers/cli';
import type { ServeProcess } from '../helpers/cli';
import { startServeSkippingSetup } from '../helpers/e2eApp';
import { importModel, writeE2eModel } from '../helpers/e2eModels';
import { makeTempDir } from '../helpers/tempDir';

let server: ServeProcess;
const dataDir = makeTempDir('architect-e2e-presets-');
const files = makeTempDir('architect-e2e-presets-files-');

test.beforeAll(async () => {
  importModel(dataDir.path, writeE2eModel(files.path).path);
  const data = join(files.path, 'entities.jsonl');
  writeFileSync(data, `${Array.from({ length: 4 }, (_, i) => JSON.stringify({ prompt: `Draw entity ${i}`, completion: `erDiagram\n  A${i} ||--o{ B${i} : has` })).join('\n')}\n`);
  const imported = runCli(['import', data, '--validation-share', '0', '--data-dir', dataDir.path]);
  if (imported.status !== 0) throw new Error(`architect import exited with ${imported.status}:\n${imported.stderr}`);
  server = await startServeSkippingSetup(dataDir.path);
});

test.afterAll(async () => {
  const code = await server?.stop();
  expect(code, server?.output()).toBe(0);
  dataDir.remove();
  files.remove();
});

/** "batch 1 · rank 8 · max length 512 · gradient checkpointing off · F32 base" → its numbers. */
function parseChoice(text: string) {
  const m = /batch (\d+) · rank (\d+) · max length (\d+) · gradient checkpointing (on|off) · (\S+) base/.exec(text);
  if (!m) throw new Error(`not a preset choice: ${text}`);
  return { batch: m[1]!, rank: m[2]!, maxLength: m[3]!, checkpointing: m[4] === 'on' };
}

test('the preset for the picked model, Use preset, the fit of the form’s values, and the measured time', async ({ page }, testInfo) => {
  test.setTimeout(180_000);
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(server.url);
  await page.getByRole('navigation').getByRole('button', { name: 'Training' }).click();
  const form = page.getByRole('form', { name: 'New training job' });
  const preset = form.getByRole('region', { name: 'Preset' });

  // The preset with its reasoning: the tier, the memory it was judged against, the estimate in parts, the notes.
  await expect(preset.getByTestId('preset-name')).toHaveText(/^Preset (cpu|8gb|12gb|16gb|24gb)$/);
  const cpu = (await preset.getByTestId('preset-name').textContent()) === 'Preset cpu';
  await expect(preset.getByTestId('preset-memory')).toContainText(cpu ? /of RAM \([\d.]+ GB less 1\.5 GB kept for the system\)/ : /free VRAM on /);
  await expect(preset.getByTestId('preset-summary')).toHaveText(/^[\d.]+ GB of [\d.]+: weights [\d.]+, activations [\d.]+, optimizer [\d.]+, LoRA [\d.]+, gradients [\d.]+, backend [\d.]+; [\d.]+ kept free \(10% \+ 512 MiB\)$/);
  await expect(preset.getByTestId('preset-notes')).toContainText('no 4-bit file of this model: F32 (32-bit) is the closest');
  if (cpu) await expect(preset.getByTestId('preset-time')).toHaveText(/appears after the first training job on this model/);
  const choice = parseChoice((await preset.getByTestId('preset-choice').textContent())!);

  // The defaults fit.
  await expect(form.getByTestId('training-fit')).toHaveAttribute('data-fits', 'true');
  await expect(form.getByTestId('training-fit')).toHaveText(new RegExp(`^These settings fit ${cpu ? 'system memory' : 'the GPU'}: `));

  // Other values, then Use preset: batch size, rank, max length and checkpointing are the preset's again.
  await form.getByLabel('Batch size').fill('3');
  await form.getByLabel('LoRA rank').fill('4');
  await form.getByLabel('Max length').fill('128');
  await form.getByLabel('Gradient checkpointing').setChecked(!choice.checkpointing);
  await preset.getByRole('button', { name: 'Use preset' }).click();
  await expect(form.getByLabel('Batch size')).toHaveValue(choice.batch);
  await expect(form.getByLabel('LoRA rank')).toHaveValue(choice.rank);
  await expect(form.getByLabel('Max length')).toHaveValue(choice.maxLength);
  if (choice.checkpointing) await expect(form.getByLabel('Gradient checkpointing')).toBeChecked();
  else await expect(form.getByLabel('Gradient checkpointing')).not.toBeChecked();
  await expect(preset.getByTestId('preset-notice')).toHaveText(new RegExp(`^Preset \\w+: batch size ${choice.batch}, rank ${choice.rank}, max length ${choice.maxLength}, gradient checkpointing (on|off)\\.$`));
  await expect(form.getByLabel('Epochs')).toHaveValue('3'); // what the preset does not set stays

  // Values no memory holds: the form says so before Start, with the guide's remedies in its order.
  await form.getByLabel('Batch size').fill('512');
  await form.getByLabel('Max length').fill('1024');
  const fit = form.getByTestId('training-fit');
  await expect(fit).toHaveAttribute('data-fits', 'false');
  await expect(fit).toHaveAttribute('role', 'alert');
  await expect(fit).toContainText(new RegExp(`These settings do not fit ${cpu ? 'system memory' : 'the GPU'}: [\\d.]+ GB of [\\d.]+: weights `));
  const remedies = fit.locator('ol > li');
  await expect(remedies).toHaveCount(5);
  await expect(remedies.nth(0)).toHaveText('4-bit base: no 4-bit file of this model is known');
  await expect(remedies.nth(1)).toHaveText(/^batch 1 \(batch 512 → 1\): saves [\d.]+ GB, then [\d.]+ GB — fits$/);
  await expect(remedies.nth(2)).toHaveText(/^shorter max length \(max length 1024 → 512\): saves /);
  await fit.scrollIntoViewIfNeeded();
  await page.screenshot({ path: testInfo.outputPath('training-preset-does-not-fit.png'), fullPage: true });
  await preset.getByRole('button', { name: 'Use preset' }).click();
  await expect(fit).toHaveAttribute('data-fits', 'true');

  // A short job on one thread; once it has run, the preset's time comes from the speed it measured (on a CPU).
  await form.getByLabel('Epochs').fill('2');
  await form.getByLabel('CPU threads').fill('1');
  await form.getByRole('button', { name: 'Start training' }).click();
  const panel = page.getByRole('article', { name: 'Job', exact: true });
  await expect(panel.getByTestId('job-status')).toHaveText('succeeded', { timeout: 120_000 });
  if (cpu) {
    await expect(preset.getByTestId('preset-time')).toHaveText(/^Time: about \d+ (s|min|h \d+ min): 50 examples × 3 epochs × at most \d+ tokens at [\d.]+ tokens\/s \(measured on job 1\)$/);
  }
  await preset.scrollIntoViewIfNeeded();
  await page.screenshot({ path: testInfo.outputPath('training-preset.png'), fullPage: true });

  // The Generate page asks whether the model gave the GPU up; with no training job holding it there is no notice.
  await page.getByRole('navigation').getByRole('button', { name: 'Generate' }).click();
  await expect(page.getByRole('heading', { name: 'Generate', level: 1 })).toBeVisible();
  await expect(page.getByTestId('gpu-yield')).toHaveCount(0);
  await expect(page.getByTestId('generate-error')).toHaveCount(0);
});
