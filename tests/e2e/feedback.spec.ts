import { expect, test } from '@playwright/test';
import type { Page } from '@playwright/test';
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

const erd = (name: string) => `erDiagram\n  ${name} ||--o{ ORDER : places\n  ${name} { string id PK }\n  ORDER { string id PK }`;

async function addArtifact(page: Page, kind: string, prompt: string, output: string): Promise<void> {
  await page.getByRole('button', { name: 'History' }).click();
  await page.getByRole('button', { name: 'Add artifact' }).click();
  const form = page.getByRole('form', { name: 'Add artifact' });
  await form.getByLabel('Kind').selectOption(kind);
  await form.getByLabel('Prompt or requirements').fill(prompt);
  await form.getByLabel('Generated output').fill(output);
  await form.getByRole('button', { name: 'Add and validate' }).click();
  await expect(page.getByRole('heading', { name: /^Artifact #\d+/ })).toBeVisible({ timeout: 30_000 });
}

test('feedback through the real UI: add, 👍, correct, History, Learning, and a batch at batchSize', async ({ page }, testInfo) => {
  await page.goto(server.url);
  await addArtifact(page, 'erd', 'Customers place orders', erd('CUSTOMER'));

  // Validation ran on arrival: score, reasons and reward are shown.
  const validation = page.getByRole('article', { name: 'Validation' });
  await expect(validation.getByTestId('validation-score')).toHaveText('100/100');
  await expect(validation.getByRole('list', { name: 'Validation reasons' })).toContainText('Every related entity is declared');
  await expect(validation.getByTestId('validation-reward')).toHaveText('+1.00');

  await page.getByRole('button', { name: 'Thumbs up' }).click();
  await expect(page.getByTestId('last-reward')).toHaveText(/Recorded 👍 Good: reward \+1\.00/);

  const editor = page.getByLabel('Corrected text');
  await editor.fill(erd('CUSTOMER').replace('places', 'submits'));
  await page.getByRole('button', { name: 'Save correction' }).click();
  await expect(page.getByTestId('last-reward')).toHaveText(/Recorded ✎ Correction 0\.\d\d: reward \+0\.[2-6]\d/);
  const correctionReward = (await page.getByTestId('last-reward').locator('.reward').textContent())!;
  await expect(page.getByTestId('training-example')).toContainText('The corrected text');
  await page.screenshot({ path: testInfo.outputPath('artifact-view.png'), fullPage: true });

  // History lists the artifact with both rewards.
  await page.getByRole('button', { name: '← History' }).click();
  const row = page.getByTestId('history-row-1');
  await expect(row.getByTestId('event-explicit_positive')).toContainText('+1.00');
  await expect(row.getByTestId('event-correction')).toContainText(correctionReward);
  await expect(row.getByTestId('event-validation')).toContainText('+1.00');
  await page.getByLabel('Filter by kind').selectOption('code');
  await expect(row).toBeHidden();
  await page.getByLabel('Filter by kind').selectOption('all');
  await expect(row).toBeVisible();

  // The Learning panel counts them.
  await page.getByRole('button', { name: 'Learning' }).click();
  await expect(page.getByTestId('stats-total-feedback')).toHaveText('3');
  await expect(page.getByTestId('stats-type-explicit_positive')).toHaveText('1');
  await expect(page.getByTestId('stats-type-correction')).toHaveText('1');
  await expect(page.getByTestId('stats-type-validation')).toHaveText('1');
  await expect(page.getByTestId('learning-pending')).toHaveText('1 of 50');
  await expect(page.getByTestId('learning-batches')).toHaveText('0');

  // batchSize 3: two more eligible examples make one batch with one queued job.
  const settings = page.getByRole('form', { name: 'Learning settings' });
  await settings.getByLabel('Batch size').fill('3');
  await settings.getByRole('button', { name: 'Save settings' }).click();
  await expect(page.getByTestId('learning-pending')).toHaveText('1 of 3');
  await addArtifact(page, 'flowchart', 'Login flow', 'flowchart TD\n  A[Login] --> B{Valid?}\n  B -->|yes| C[Home]\n  B -->|no| A');
  await page.getByRole('button', { name: 'Learning' }).click();
  await expect(page.getByTestId('learning-pending')).toHaveText('2 of 3');
  await expect(page.getByTestId('learning-batches')).toHaveText('0');
  await addArtifact(page, 'sequence', 'Sign-in handshake', 'sequenceDiagram\n  participant U as User\n  participant API\n  U->>API: POST /login\n  API-->>U: 200 token');
  await page.getByRole('button', { name: 'Learning' }).click();
  await expect(page.getByTestId('learning-batches')).toHaveText('1');
  await expect(page.getByTestId('learning-queued-jobs')).toHaveText('1');
  await expect(page.getByTestId('learning-pending')).toHaveText('0 of 3');
  await expect(page.getByTestId('batch-1')).toContainText('queued');
  await page.screenshot({ path: testInfo.outputPath('learning-panel.png'), fullPage: true });

  // Pause and resume from the panel.
  await page.getByRole('button', { name: 'Pause learning' }).click();
  await expect(page.getByTestId('learning-state')).toContainText('Paused');
  await page.getByRole('button', { name: 'Resume learning' }).click();
  await expect(page.getByTestId('learning-state')).toContainText('Active');

  await page.getByRole('button', { name: 'History' }).click();
  await page.getByLabel('Sort by').selectOption('reward asc');
  await expect(page.locator('tbody tr').first()).toHaveAttribute('data-testid', 'history-row-1'); // the correction's reward is the lowest
  await page.screenshot({ path: testInfo.outputPath('history.png'), fullPage: true });
});
