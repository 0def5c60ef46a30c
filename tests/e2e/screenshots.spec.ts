// Every page of the app, in the light and the dark theme, at the smallest size it is made for (1280×720), into
// test-results/screenshots/PAGE-THEME.png: for a person to look at (the layouts, the colours, what reads badly).
// The data is real: a tiny model imported, artifacts added and rated, a dataset imported, through the CLI and the API.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import type { Locator, Page } from '@playwright/test';
import { runCli } from '../helpers/cli';
import type { ServeProcess } from '../helpers/cli';
import { startServeSkippingSetup, withApi } from '../helpers/e2eApp';
import { importModel, writeE2eModel } from '../helpers/e2eModels';
import { makeTempDir } from '../helpers/tempDir';

let server: ServeProcess;
const dataDir = makeTempDir('architect-e2e-screens-');
const files = makeTempDir('architect-e2e-screens-files-');

const ERD = 'erDiagram\n  CUSTOMER ||--o{ ORDER : places\n  ORDER ||--|{ LINE_ITEM : contains\n  CUSTOMER {\n    string id PK\n    string name\n  }';
const FLOW = 'flowchart TD\n  A[Sign in] --> B{Valid?}\n  B -->|yes| C[Dashboard]\n  B -->|no| A';

test.beforeAll(async () => {
  importModel(dataDir.path, writeE2eModel(files.path, 'screens-tiny.gguf').path);
  const dataset = join(files.path, 'examples.jsonl');
  writeFileSync(dataset, Array.from({ length: 12 }, (_, i) => JSON.stringify({ prompt: `Draw the order flow ${i}`, completion: `flowchart TD\n  A${i} --> B${i}` })).join('\n'));
  const imported = runCli(['import', dataset, '--data-dir', dataDir.path]);
  if (imported.status !== 0) throw new Error(`architect import failed:\n${imported.stdout}\n${imported.stderr}`);
  server = await startServeSkippingSetup(dataDir.path);
  await withApi(server.url, async (api) => {
    const erd = await api.artifacts.add({ kind: 'erd', prompt: 'Customers place orders of several products.', output: ERD });
    await api.feedback.record({ artifactId: erd.artifact.id, type: 'explicit_positive' });
    const flow = await api.artifacts.add({ kind: 'flowchart', prompt: 'The sign-in flow with a retry.', output: FLOW });
    await api.feedback.record({ artifactId: flow.artifact.id, type: 'correction', text: FLOW.replace('Dashboard', 'Home page') });
  });
});

test.afterAll(async () => {
  expect(await server?.stop()).toBe(0);
  dataDir.remove();
  files.remove();
});

/** Each page by its address, and what shows once its data is in. */
const PAGES: { name: string; hash: string; heading: string | RegExp; ready: (page: Page) => Locator }[] = [
  { name: 'generate', hash: 'generate', heading: 'Generate', ready: (p) => p.getByRole('form', { name: 'Generate' }).getByLabel('Model', { exact: true }).filter({ has: p.locator('option[value="active"]') }) },
  { name: 'models', hash: 'models', heading: 'Models', ready: (p) => p.getByRole('region', { name: 'Catalog' }).getByRole('article').first() },
  { name: 'training', hash: 'training', heading: 'Training', ready: (p) => p.getByRole('heading', { name: 'Training', exact: true }) },
  { name: 'system', hash: 'system', heading: 'System', ready: (p) => p.getByTestId('memory-total') },
  { name: 'history', hash: 'history', heading: 'History', ready: (p) => p.getByTestId('history-row-1') },
  { name: 'artifact', hash: 'history/1', heading: /^Artifact #1/, ready: (p) => p.getByTestId('artifact-output') },
  { name: 'learning', hash: 'learning', heading: 'Learning', ready: (p) => p.getByTestId('stats-total-feedback') },
  { name: 'datasets', hash: 'datasets', heading: 'Datasets', ready: (p) => p.getByRole('main').getByText('examples.jsonl').first() },
  { name: 'dataset', hash: 'datasets/1', heading: /examples/, ready: (p) => p.getByRole('main').getByText('Draw the order flow').first() },
  { name: 'settings', hash: 'settings', heading: 'Settings', ready: (p) => p.getByTestId('data-folder-path') },
];

const shotPath = (name: string) => join(test.info().project.outputDir, 'screenshots', `${name}.png`);

/**
 * Waits for the page's data, for anything still loading, and for the fonts; then a screenshot of the whole page,
 * or of the window (`fullPage: false`) for what floats over it: a full-page shot stretches the window, and a dialog
 * centred in it would not be where a person sees it.
 */
async function shoot(page: Page, name: string, ready: Locator, fullPage = true): Promise<void> {
  await expect(ready).toBeVisible({ timeout: 30_000 });
  await expect(page.getByText(/^Loading…$/)).toHaveCount(0, { timeout: 15_000 });
  await page.evaluate(() => document.fonts.ready.then(() => undefined));
  await page.screenshot({ path: shotPath(name), fullPage });
}

for (const theme of ['light', 'dark'] as const) {
  test(`every page in the ${theme} theme`, async ({ page }) => {
    test.setTimeout(180_000);
    await page.setViewportSize({ width: 1280, height: 720 });
    await withApi(server.url, (api) => api.app.setSettings({ theme }));
    for (const p of PAGES) {
      await page.goto(`${server.url}#/${p.hash}`);
      await expect(page.locator('html')).toHaveAttribute('data-theme', theme);
      await expect(page.getByRole('heading', { name: p.heading, exact: typeof p.heading === 'string' }).first()).toBeVisible({ timeout: 15_000 });
      await shoot(page, `${p.name}-${theme}`, p.ready(page));
    }

    // The notifications list, open over the Generate page.
    await page.goto(`${server.url}#/generate`);
    await page.getByRole('button', { name: /^Notifications/ }).click();
    await shoot(page, `notifications-${theme}`, page.getByRole('region', { name: 'Recent notifications' }), false);
    await page.keyboard.press('Escape');

    // First-run setup, opened again from Settings: the machine step and the model step.
    await page.goto(`${server.url}#/settings`);
    await page.getByRole('button', { name: 'Run first-run setup again' }).click();
    const dialog = page.getByRole('dialog', { name: /first-run setup/i });
    await shoot(page, `first-run-machine-${theme}`, dialog.getByTestId('machine-headline'), false);
    await dialog.getByRole('button', { name: 'Next' }).click();
    await shoot(page, `first-run-model-${theme}`, dialog.getByLabel('Catalog model'), false);
    await dialog.getByRole('button', { name: 'Skip this step' }).click();
    await shoot(page, `first-run-folder-${theme}`, dialog.getByTestId('data-folder-path'), false);
  });
}
