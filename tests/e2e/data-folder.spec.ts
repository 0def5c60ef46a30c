// Moving the data folder from the Settings page of the real app (`architect serve`, the built page in Chromium):
// checked, confirmed with the data's size and the target's free space, moved with progress, the page back on the new
// folder with the data there; a refused move says why and changes nothing.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import type { ServeProcess } from '../helpers/cli';
import { startServeSkippingSetup, withApi } from '../helpers/e2eApp';
import { makeTempDir } from '../helpers/tempDir';

let server: ServeProcess;
const temp = makeTempDir('architect-e2e-data-folder-');
const dataDir = join(temp.path, 'data');
const target = join(temp.path, 'moved', 'architect');

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  server = await startServeSkippingSetup(dataDir);
  await withApi(server.url, (api) => api.artifacts.add({ kind: 'other', prompt: 'kept across the move', output: 'still here', validate: false }));
});

test.afterAll(async () => {
  expect(await server?.stop()).toBe(0);
  temp.remove();
});

test('a refused move says why, names the folder, and changes nothing', async ({ page }, testInfo) => {
  const occupied = join(temp.path, 'occupied');
  mkdirSync(occupied);
  writeFileSync(join(occupied, 'holiday.jpg'), 'a photo');
  await page.goto(`${server.url}#/settings`);
  await expect(page.getByTestId('data-folder-path')).toHaveText(dataDir);
  const field = page.getByRole('textbox', { name: 'Move to' });
  await field.fill(occupied);
  await page.getByRole('button', { name: 'Move…' }).click();
  await expect(page.getByTestId('data-folder-move-error')).toHaveText(
    `${occupied} is not empty (it holds 'holiday.jpg'): choose a new or empty folder, so that nothing of yours is mixed with the app's data; nothing was changed.`,
  );
  await expect(page.getByTestId('data-folder-move-confirm')).toBeHidden();
  await page.locator('.data-folder').screenshot({ path: testInfo.outputPath('data-folder-refused.png') });
  await field.fill('not/absolute');
  await page.getByRole('button', { name: 'Move…' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'is not an absolute path' })).toContainText('not/absolute is not an absolute path: give the whole path of the new folder');
  await expect(page.getByTestId('data-folder-path')).toHaveText(dataDir);
  expect(existsSync(join(dataDir, 'data-location.json'))).toBe(false);
});

test('moves the data folder from Settings: confirmation with size and free space, progress, the new path after', async ({ page }, testInfo) => {
  await page.goto(`${server.url}#/settings`);
  await expect(page.getByTestId('data-folder-path')).toHaveText(dataDir);
  await page.getByRole('textbox', { name: 'Move to' }).fill(target);
  await page.getByRole('button', { name: 'Move…' }).click();
  const confirm = page.getByRole('group', { name: 'Confirm the move' });
  await expect(confirm).toContainText(new RegExp(`^Move \\d+(\\.\\d)? (KB|MB) of data from ${dataDir} to ${target}\\? It is on the same disk \\(\\d+\\.\\d GB free\\): the files are renamed, nothing is copied\\.`));
  await confirm.screenshot({ path: testInfo.outputPath('data-folder-confirm.png') });
  await confirm.getByRole('button', { name: 'Move the data' }).click();
  // The page reloads from the new folder and says where the data went.
  await expect(page.getByTestId('data-folder-moved')).toContainText(`The data folder moved from ${dataDir} to ${target}`, { timeout: 30_000 });
  await expect(page.getByTestId('data-folder-path')).toHaveText(target);
  await page.getByTestId('data-folder-moved').screenshot({ path: testInfo.outputPath('data-folder-moved.png') });
  // The data came along and the app works against it.
  const artifacts = await withApi(server.url, (api) => api.artifacts.list({}));
  expect(artifacts.items.map((a) => a.prompt)).toContain('kept across the move');
  expect(JSON.parse(readFileSync(join(dataDir, 'data-location.json'), 'utf8'))).toEqual({ dataDir: target });
  expect(existsSync(join(target, 'architect.db'))).toBe(true);
  expect(existsSync(join(dataDir, 'architect.db'))).toBe(false);
  await page.getByRole('button', { name: 'Dismiss' }).click();
  await expect(page.getByTestId('data-folder-moved')).toBeHidden();
  // Another page of the app still works after the reload.
  await page.goto(`${server.url}#/history`);
  await expect(page.getByText('kept across the move').first()).toBeVisible();
});
