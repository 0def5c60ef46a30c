// The keyboard shortcuts of the Generate page and the artifact view, pressed as a person does: Ctrl+Enter
// generates (from an Ollama stand-in, quick), Alt+↑ / Alt+↓ rate, Ctrl+S in the editor saves the edit as a correction.
import { expect, test } from '@playwright/test';
import type { ServeProcess } from '../helpers/cli';
import { startServeSkippingSetup, withApi } from '../helpers/e2eApp';
import { OllamaStandIn } from '../helpers/ollamaStandIn';
import { makeTempDir } from '../helpers/tempDir';

let server: ServeProcess;
let ollama: OllamaStandIn;
const dataDir = makeTempDir('architect-e2e-shortcuts-');
const ERD = ['erDiagram\n', '  CUSTOMER ||--o{ ORDER : places\n', '  ORDER ||--|{ LINE_ITEM : contains\n'];

test.beforeAll(async () => {
  ollama = await OllamaStandIn.start({ reply: () => ERD });
  server = await startServeSkippingSetup(dataDir.path);
  await withApi(server.url, (api) => api.generation.setSettings({ ollamaHost: ollama.host }));
});

test.afterAll(async () => {
  expect(await server?.stop()).toBe(0);
  await ollama?.close();
  dataDir.remove();
});

test('Generate page: the help line, Ctrl+Enter, Alt+↑, Alt+↓ and Ctrl+S in the editor', async ({ page }) => {
  await page.goto(`${server.url}#/generate`);
  const help = page.getByTestId('shortcut-help');
  await expect(help).toContainText('Ctrl+Enter generate');
  await expect(help).toContainText('Alt+↑ good');
  await expect(help).toContainText('Ctrl+S save your edit');
  const form = page.getByRole('form', { name: 'Generate' });
  const generate = form.getByRole('button', { name: 'Generate', exact: true });
  await expect(generate).toHaveAttribute('title', 'Generate (Ctrl+Enter)');
  await expect(generate).toHaveAttribute('aria-keyshortcuts', 'Control+Enter Meta+Enter');

  const picker = form.getByLabel('Model', { exact: true });
  await expect(picker.locator('option', { hasText: 'Ollama: codellama:7b' })).toHaveCount(1, { timeout: 15_000 });
  await picker.selectOption('ollama:codellama:7b');
  await form.getByLabel('Kind').selectOption('erd');
  const requirements = form.getByRole('textbox', { name: 'Requirements' });
  await requirements.fill('Customers place orders with line items.');
  await requirements.press('Control+Enter');
  await expect(page.getByTestId('generate-result')).toBeVisible({ timeout: 30_000 });

  const feedback = page.getByRole('article', { name: 'Feedback' });
  await expect(feedback.getByRole('button', { name: 'Thumbs up' })).toHaveAttribute('title', 'This is good (Alt+↑)');
  await page.keyboard.press('Alt+ArrowUp');
  await expect(page.getByTestId('generate-last-reward')).toHaveText(/^Recorded 👍 Good: reward/);
  await page.keyboard.press('Alt+ArrowDown');
  await expect(page.getByTestId('generate-last-reward')).toHaveText(/^Recorded 👎 Bad: reward/);

  // Ctrl+S in the editor saves the edit (and not the page); unchanged text is not saved again.
  const editor = page.getByLabel('Generated output');
  await editor.fill(`${ERD.join('')}  PRODUCT ||--o{ LINE_ITEM : "is in"\n`);
  await editor.press('Control+s');
  await expect(page.getByTestId('generate-last-reward')).toHaveText(/^Recorded ✎ Correction \d\.\d\d: reward/);
  await expect(feedback.getByRole('button', { name: 'Save my edit as a correction' })).toBeDisabled();

  const events = await withApi(server.url, async (api) => (await api.artifacts.get({ id: 1 })).events.map((e) => e.type));
  expect(events).toEqual(expect.arrayContaining(['explicit_positive', 'explicit_negative', 'correction']));
});

test('artifact view: Alt+↓ rates, Ctrl+S in the correction editor saves', async ({ page }) => {
  await page.goto(`${server.url}#/history/1`);
  await expect(page.getByTestId('artifact-output')).toBeVisible({ timeout: 15_000 });
  await expect(page.getByTestId('shortcut-help')).toContainText('Ctrl+S save the correction');
  await page.keyboard.press('Alt+ArrowDown');
  await expect(page.getByTestId('last-reward')).toHaveText(/^Recorded 👎 Bad: reward/);
  const editor = page.getByLabel('Corrected text');
  await editor.fill(`${ERD.join('')}  ORDER ||--|| INVOICE : "billed by"\n`);
  await editor.press('Control+s');
  await expect(page.getByTestId('last-reward')).toHaveText(/^Recorded ✎ Correction \d\.\d\d: reward/);
});
