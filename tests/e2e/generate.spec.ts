import { expect, test } from '@playwright/test';
import type { Page } from '@playwright/test';
import { runCli } from '../helpers/cli';
import type { ServeProcess } from '../helpers/cli';
import { startServeSkippingSetup } from '../helpers/e2eApp';
import { importModel, writeE2eModel } from '../helpers/e2eModels';
import { OllamaStandIn } from '../helpers/ollamaStandIn';
import { makeTempDir } from '../helpers/tempDir';

let server: ServeProcess;
let ollama: OllamaStandIn;
let model: { id: number; name: string };
const dataDir = makeTempDir('architect-e2e-generate-');
const files = makeTempDir('architect-e2e-generate-files-');

// The stand-in streams a small ERD, then Mermaid comments (cheap to re-render), one token every 50 ms for about
// 20 s: time to watch the editor and the preview follow the stream on a busy machine, and to stop it.
const ENTITIES = ['CUSTOMER', 'ORDER', 'LINE_ITEM', 'PRODUCT', 'INVOICE'];
const OLLAMA_TOKENS = [
  'erDiagram\n',
  ...ENTITIES.map((e, i) => `  ${e} ||--o{ ${ENTITIES[(i + 1) % 5]} : r${i}\n`),
  ...Array.from({ length: 400 }, (_, i) => `  %% note ${i}\n`),
];

test.beforeAll(async () => {
  const file = writeE2eModel(files.path);
  model = importModel(dataDir.path, file.path);
  ollama = await OllamaStandIn.start({ tokenDelayMs: 50, reply: () => OLLAMA_TOKENS });
  server = await startServeSkippingSetup(dataDir.path);
});

test.afterAll(async () => {
  expect(await server?.stop()).toBe(0);
  await ollama?.close();
  dataDir.remove();
  files.remove();
});

const VALID_ERD = 'erDiagram\n  CUSTOMER ||--o{ ORDER : places\n  ORDER ||--|{ LINE_ITEM : contains\n  CUSTOMER {\n    string id PK\n    string name\n  }';
// Line 5 closes the CUSTOMER block where an attribute should be.
const BROKEN_ERD = 'erDiagram\n  CUSTOMER ||--o{ ORDER : places\n  CUSTOMER {\n    string id PK\n  ORDER }|..|{ ITEM : has\n';

/** Records the editor's length (and the status line) every few milliseconds, to see text arrive in steps. */
async function watchEditor(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __lengths: number[]; __statuses: string[] };
    w.__lengths = [];
    w.__statuses = [];
    const sample = () => {
      const editor = document.querySelector<HTMLTextAreaElement>('[data-testid="generate-output"]');
      if (editor && editor.value.length !== w.__lengths[w.__lengths.length - 1]) w.__lengths.push(editor.value.length);
      const status = document.querySelector('[data-testid="generate-status"]')?.textContent;
      if (status && status !== w.__statuses[w.__statuses.length - 1]) w.__statuses.push(status);
    };
    setInterval(sample, 4);
  });
}
const watched = (page: Page) =>
  page.evaluate(() => {
    const w = window as unknown as { __lengths: number[]; __statuses: string[] };
    return { lengths: w.__lengths, statuses: w.__statuses };
  });

test('generate an ERD with the local model: it streams, is validated, previews, and takes 👍 and a correction', async ({ page }, testInfo) => {
  await page.goto(server.url);
  // Generate is the first page.
  await expect(page.getByRole('heading', { name: 'Generate' })).toBeVisible();
  const form = page.getByRole('form', { name: 'Generate' });
  const generate = form.getByRole('button', { name: 'Generate', exact: true });

  // Nothing to generate from yet: the button waits, and says why.
  await expect(generate).toBeDisabled();
  await expect(page.getByTestId('generate-hint')).toContainText('requirements');

  await form.getByLabel('Kind').selectOption('erd');
  const picker = form.getByLabel('Model', { exact: true });
  // The default is what serves the kind (here the plain base: nothing is trained); the plain base takes an adapter file.
  await expect(picker).toHaveValue('active');
  await expect(picker.locator('option:checked')).toHaveText(`What serves this kind (ERD: the plain base of ${model.name})`);
  await expect(form.getByRole('radio', { name: 'Adapter file' })).toBeDisabled();
  await picker.selectOption(`local:${model.id}`);
  await expect(picker.locator('option:checked')).toContainText(model.name);

  // Sampling settings arrive prefilled from the saved defaults; keep this run short and repeatable.
  await form.getByText('Sampling settings').click();
  await expect(form.getByLabel('Temperature')).toHaveValue('0.2');
  await expect(form.getByLabel('Max tokens')).toHaveValue('1024');
  await form.getByLabel('Max tokens').fill('200');
  await form.getByLabel('Seed').fill('7');
  await form.getByLabel('Context size').fill('1024');
  // One thread: ggml's spinning workers crawl on a small, busy CI machine (about 1 token/s with 2 on 2 cores).
  await form.getByLabel('CPU threads').fill('1');

  await form.getByRole('textbox', { name: 'Requirements' }).fill('Customers place orders; each order has line items that refer to products.');
  await expect(generate).toBeEnabled();

  // A generation the app refuses says what went wrong and what to do, in an alert.
  await form.getByRole('radio', { name: 'Adapter file' }).check();
  await expect(generate).toBeDisabled(); // until a path is typed
  await form.getByLabel('Adapter file path').fill(`${files.path}/no-such-adapter.gguf`);
  await generate.click();
  const alert = page.getByTestId('generate-error');
  await expect(alert).toHaveAttribute('role', 'alert');
  await expect(alert).toContainText('no-such-adapter.gguf', { timeout: 30_000 });
  await expect(alert).toContainText('Check the adapter path');
  await alert.getByRole('button', { name: 'Dismiss' }).click();
  await form.getByRole('radio', { name: 'Base model' }).check();

  await watchEditor(page);
  await generate.click();

  const result = page.getByTestId('generate-result');
  await expect(result).toBeVisible({ timeout: 60_000 });
  const { lengths, statuses } = await watched(page);
  testInfo.annotations.push({ type: 'editor lengths while streaming', description: lengths.join(', ') });
  expect(lengths.filter((n) => n > 0).length).toBeGreaterThan(1); // the text arrived in steps, not at once
  expect(statuses.length).toBeGreaterThan(0); // a status line was shown while it ran

  // The stored artifact's validation, and how it was made.
  const validation = page.getByRole('article', { name: 'Validation' });
  await expect(validation.getByTestId('validation-score')).toHaveText(/^\d+\/100$/);
  await expect(validation.getByRole('list', { name: 'Validation reasons' })).not.toBeEmpty();
  const stats = page.getByRole('article', { name: 'Generation' });
  await expect(stats).toContainText(model.name);
  await expect(stats.getByTestId('stat-adapter')).toHaveText('base');
  await expect(stats.getByTestId('stat-tokens')).toHaveText(/^[1-9][\d,]* \(prompt [1-9][\d,]*\)$/);
  await expect(stats.getByTestId('stat-speed')).toHaveText(/^\d+\.\d tokens\/s$/);
  await expect(stats).toContainText('seed 7');
  const editor = page.getByLabel('Generated output');
  expect((await editor.inputValue()).length).toBeGreaterThan(0);

  // The preview follows the editor; the editor stays the same element (never re-mounted) with its caret.
  await editor.evaluate((el) => (el.dataset.mark = 'kept'));
  await editor.fill(VALID_ERD);
  const preview = page.getByRole('region', { name: 'Diagram preview' });
  await expect(preview.locator('[data-testid="preview-svg"]:not(.stale) svg')).toBeVisible({ timeout: 15_000 });
  await expect(preview.getByTestId('preview-error')).toHaveCount(0);
  await page.screenshot({ path: testInfo.outputPath('generate-page.png'), fullPage: true });

  await editor.fill(BROKEN_ERD);
  await editor.evaluate((el: HTMLTextAreaElement) => el.setSelectionRange(12, 12));
  await expect(preview.getByTestId('preview-error')).toContainText('Line 5', { timeout: 15_000 });
  await expect(page.locator('[data-mark="kept"]')).toHaveCount(1);
  expect(await editor.evaluate((el: HTMLTextAreaElement) => [el.selectionStart, el.selectionEnd])).toEqual([12, 12]);
  await page.screenshot({ path: testInfo.outputPath('generate-preview-error.png'), fullPage: true });

  // 👍 is recorded with its reward.
  const feedback = page.getByRole('article', { name: 'Feedback' });
  await feedback.getByRole('button', { name: 'Thumbs up' }).click();
  await expect(page.getByTestId('generate-last-reward')).toHaveText(/^Recorded 👍 Good: reward [+−]\d\.\d\d$/);

  // The editor's text, changed, is saved as a correction; the same text cannot be saved twice.
  const save = feedback.getByRole('button', { name: 'Save my edit as a correction' });
  await editor.fill(VALID_ERD);
  await expect(save).toBeEnabled();
  await save.click();
  await expect(page.getByTestId('generate-last-reward')).toHaveText(/^Recorded ✎ Correction \d\.\d\d: reward [+−]\d\.\d\d$/);
  await expect(save).toBeDisabled();

  // The artifact opens in History with both events, and the correction as its training target.
  await feedback.getByRole('button', { name: /^Open artifact #\d+ in History$/ }).click();
  await expect(page.getByRole('heading', { name: /^Artifact #\d+/ })).toBeVisible();
  await expect(page.getByRole('article', { name: 'Feedback events' }).getByTestId('event-explicit_positive')).toBeVisible();
  await expect(page.getByRole('article', { name: 'Feedback events' }).getByTestId('event-correction')).toBeVisible();
  await expect(page.getByTestId('training-example')).toContainText('The corrected text');
});

test('requirements from a dropped file, an Ollama model, Ctrl+Enter to generate and Esc to stop', async ({ page }, testInfo) => {
  await page.goto(server.url);

  // Point the app at the Ollama stand-in from the Models page.
  await page.getByRole('navigation').getByRole('button', { name: 'Models' }).click();
  const host = page.getByRole('form', { name: 'Ollama host' });
  await host.getByLabel('Host').fill(ollama.host);
  await host.getByRole('button', { name: 'Save host' }).click();
  await expect(page.getByTestId('ollama-status')).toContainText('Reachable', { timeout: 15_000 });
  await expect(page.getByRole('article', { name: 'Ollama' })).toContainText('codellama:7b');

  await page.getByRole('navigation').getByRole('button', { name: 'Generate' }).click();
  const form = page.getByRole('form', { name: 'Generate' });
  const picker = form.getByLabel('Model', { exact: true });
  await expect(picker.locator('option', { hasText: 'Ollama: codellama:7b' })).toHaveCount(1);
  await picker.selectOption('ollama:codellama:7b');
  await expect(form.getByRole('radio', { name: 'Adapter file' })).toBeDisabled(); // Ollama runs its models as they are

  // A .md file dropped on the field fills it, and is not taken for a dataset.
  const dropOnRequirements = (name: string, text: string) =>
    page.evaluate(
      ([fileName, content]) => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([content!], fileName!, { type: 'text/plain' }));
        const target = document.querySelector('#requirements')!;
        for (const type of ['dragenter', 'dragover', 'drop']) target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer }));
      },
      [name, text],
    );
  const requirements = form.getByRole('textbox', { name: 'Requirements' });
  await dropOnRequirements('notes.md', '# Shop\n\nCustomers place orders; orders have line items.\n');
  await expect(requirements).toHaveValue('# Shop\n\nCustomers place orders; orders have line items.\n');
  await expect(page.getByTestId('requirements-notice')).toContainText('Read notes.md');
  await dropOnRequirements('train.jsonl', '{"prompt": "a", "completion": "b"}\n');
  await expect(page.getByTestId('requirements-notice')).toContainText('train.jsonl is not a .txt or .md file');
  await expect(requirements).toHaveValue(/^# Shop/);
  await expect(page.getByRole('heading', { name: 'Generate' })).toBeVisible(); // the dataset drop did not take over
  await expect(page.getByTestId('drop-overlay')).toHaveCount(0);
  expect(JSON.parse(runCli(['datasets', '--json', '--data-dir', dataDir.path]).stdout)).toEqual([]);

  // Ctrl+Enter generates; the text streams in; Esc stops it, and what was written is stored.
  await form.getByLabel('Kind').selectOption('erd');
  await watchEditor(page);
  await requirements.press('Control+Enter');
  await expect(form.getByRole('button', { name: 'Stop' })).toBeVisible();
  const editor = page.getByLabel('Generated output');
  await expect.poll(async () => (await editor.inputValue()).split('\n').length, { timeout: 15_000 }).toBeGreaterThan(5);
  // The preview follows the stream (debounced, yet at least every 600 ms while text arrives).
  await expect(page.getByRole('region', { name: 'Diagram preview' }).locator('[data-testid="preview-svg"]:not(.stale) svg')).toBeVisible();
  await expect(form.getByRole('button', { name: 'Stop' })).toBeVisible(); // still streaming
  await page.screenshot({ path: testInfo.outputPath('generate-streaming.png'), fullPage: true });
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('generate-result')).toBeVisible({ timeout: 15_000 });
  const stats = page.getByRole('article', { name: 'Generation' });
  await expect(stats.getByTestId('stat-finish')).toHaveText('stopped by you');
  await expect(stats).toContainText('Ollama: codellama:7b');
  const { lengths } = await watched(page);
  expect(lengths.filter((n) => n > 0).length).toBeGreaterThan(3);
  const lines = (await editor.inputValue()).split('\n').length;
  expect(lines).toBeLessThan(OLLAMA_TOKENS.length);
});
