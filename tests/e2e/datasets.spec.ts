import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import type { Page } from '@playwright/test';
import { runCli } from '../helpers/cli';
import type { ServeProcess } from '../helpers/cli';
import { startServeSkippingSetup } from '../helpers/e2eApp';
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

/** Drops a file on the window the way a person does: dragenter, dragover and drop carrying the file. */
async function dropFile(page: Page, name: string, text: string): Promise<void> {
  await page.evaluate(
    ([fileName, content]) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([content!], fileName!, { type: 'application/jsonl' }));
      const target = document.querySelector('main') ?? document.body;
      for (const type of ['dragenter', 'dragover', 'drop']) {
        target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer }));
      }
    },
    [name, text],
  );
}

const KINDS = ['erd', 'flowchart', 'sequence', 'api-doc', 'code'];
const record = (i: number) => JSON.stringify({ prompt: `Generate diagram ${i % 45}`, completion: `erDiagram\n  A${i % 45} ||--o{ B : has`, kind: KINDS[i % 5] });
// 50 lines, 5 of them repeating earlier ones (i ≥ 45 repeats i − 45).
const GOOD = `${Array.from({ length: 50 }, (_, i) => record(i)).join('\r\n')}\r\n`;
const BAD = [record(100), '{"prompt": "unfinished", ', record(101), '{"prompt": "no completion"}', record(102)].join('\n');

const datasetsInStore = () => JSON.parse(runCli(['datasets', '--json', '--data-dir', dataDir.path]).stdout) as { name: string; examples: number }[];

test('drop a valid file: the dataset is listed with its stats and its examples preview', async ({ page }, testInfo) => {
  await page.goto(server.url);
  await expect(page.getByRole('heading', { name: 'Generate' })).toBeVisible();
  await dropFile(page, 'diagrams.jsonl', GOOD);

  // The drop opened the Datasets page and imported the file.
  await expect(page.getByRole('heading', { name: 'Datasets' })).toBeVisible();
  await expect(page.getByTestId('import-outcome')).toContainText('Imported diagrams: 50 examples');
  const row = page.getByTestId('dataset-row-1');
  await expect(row.getByTestId('dataset-examples')).toHaveText('50');
  await expect(row.getByTestId('dataset-split')).toHaveText('45 / 5'); // 10 per kind, 1 of each for validation
  await expect(row.getByTestId('dataset-duplicates')).toHaveText('5 / 0');
  await expect(row.getByTestId('dataset-tokens')).toHaveText('—');
  await page.screenshot({ path: testInfo.outputPath('datasets-list.png'), fullPage: true });

  await row.getByRole('button', { name: 'diagrams' }).click();
  await expect(page.getByRole('heading', { name: 'diagrams' })).toBeVisible();
  await expect(page.getByTestId('detail-examples')).toHaveText('50');
  await expect(page.getByTestId('example-preview')).toHaveCount(20);
  await expect(page.getByTestId('example-preview').first()).toContainText('Generate diagram 0');
  await page.getByRole('tab', { name: 'Validation' }).click();
  await expect(page.getByTestId('example-preview')).toHaveCount(5);
  await page.screenshot({ path: testInfo.outputPath('dataset-detail.png'), fullPage: true });

  // The same file again: nothing new, and the page says so.
  await page.getByRole('button', { name: '← Datasets' }).click();
  await dropFile(page, 'copy of diagrams.jsonl', GOOD);
  await expect(page.getByTestId('import-outcome')).toContainText('Already imported');
  expect(datasetsInStore()).toHaveLength(1);
});

test('drop a file with two bad lines: the report names both lines and nothing is imported', async ({ page }, testInfo) => {
  await page.goto(server.url);
  await page.getByRole('button', { name: 'Datasets' }).click();
  await expect(page.getByTestId('dataset-row-1')).toBeVisible();
  await dropFile(page, 'broken.jsonl', BAD);

  await expect(page.getByTestId('import-outcome')).toContainText('2 bad records of 5: nothing was imported');
  const errors = page.getByRole('list', { name: 'Import errors' }).getByTestId('import-error');
  await expect(errors).toHaveCount(2);
  await expect(errors.nth(0)).toContainText('Line 2');
  await expect(errors.nth(0)).toContainText('invalid JSON');
  await expect(errors.nth(1)).toContainText('Line 4');
  await expect(errors.nth(1)).toContainText('"completion" is missing');
  await page.screenshot({ path: testInfo.outputPath('import-refused.png'), fullPage: true });
  await expect(page.locator('tbody tr')).toHaveCount(1);
  expect(datasetsInStore().map((d) => d.name)).toEqual(['diagrams']);

  // With "skip invalid lines" the three good ones are imported and the report stays with the dataset.
  await page.getByLabel('Import the valid lines, skip invalid ones').check();
  await dropFile(page, 'broken.jsonl', BAD);
  await expect(page.getByTestId('import-outcome')).toContainText('Imported broken: 3 examples, 2 bad lines skipped');
  await page.getByTestId('import-outcome').getByRole('button', { name: 'broken' }).click();
  const skipped = page.getByRole('article', { name: 'Skipped lines' }).getByTestId('import-error');
  await expect(skipped).toHaveCount(2);

  // Rename, export and delete (after a confirmation) from the detail view.
  await page.getByRole('button', { name: 'Rename' }).click();
  await page.getByLabel('New name').fill('partial');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('heading', { name: 'partial' })).toBeVisible();
  await page.getByLabel('Export format').selectOption('alpaca');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export' }).click()]);
  expect(download.suggestedFilename()).toBe('partial.alpaca.jsonl');
  const exported = readFileSync((await download.path())!, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(exported).toHaveLength(3);
  expect(exported[0]).toEqual({ instruction: 'Generate diagram 10', input: '', output: 'erDiagram\n  A10 ||--o{ B : has' });
  await page.getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByRole('alertdialog')).toContainText('Delete “partial” and its 3 examples?');
  await page.getByRole('alertdialog').getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByRole('heading', { name: 'Datasets' })).toBeVisible();
  await expect(page.locator('tbody tr')).toHaveCount(1);
  expect(datasetsInStore().map((d) => d.name)).toEqual(['diagrams']);
});
