// A move of the data folder killed (SIGKILL) at each of its points, in a child process: the next start
// (resolveDataDir, as the CLI, `architect serve` and the desktop app call it) finds all the data in the folder the
// location file names, and nothing of the move is left over. Before the target is complete the move is undone; from
// then on it is finished.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCATION_FILE, readLocation, resolveDataDir } from '../../electron/core/app/location';
import { DATA_ENTRIES } from '../../electron/core/app/move/entries';
import { buildScript } from '../helpers/buildScript';
import { expectSeeded, seedDataFolder } from '../helpers/dataFolderSeed';
import { writeServedModel } from '../helpers/modelServer';
import { makeTempDir } from '../helpers/tempDir';

const TIMEOUT = 90_000;
const temp = makeTempDir('architect-move-crash-');
let mover: string;
let model: string;
let outside: string;

beforeAll(async () => {
  mover = await buildScript('tests/helpers/folderMover.ts');
  const fixtures = join(temp.path, 'fixtures');
  mkdirSync(fixtures);
  model = writeServedModel(fixtures, 'tiny.gguf', { nEmbd: 16, nFf: 32, tiedOutput: true }).path;
  outside = writeServedModel(fixtures, 'outside.gguf', { nEmbd: 16, nFf: 32, tiedOutput: true, seed: 9 }).path;
}, TIMEOUT);

afterAll(() => temp.remove());

const appEntries = (folder: string) => (existsSync(folder) ? readdirSync(folder).filter((name) => (DATA_ENTRIES as readonly string[]).includes(name) || name.startsWith('.architect-move-')) : []);

/** [disk, kill point, where the data must be after the next start] */
const CASES: [disk: 'same' | 'other', point: string, lands: 'from' | 'to'][] = [
  ['same', 'stage', 'from'],
  ['same', 'file:1', 'from'],
  ['same', 'file:4', 'from'],
  ['same', 'place', 'from'],
  ['same', 'locate', 'to'],
  ['same', 'clean', 'to'],
  ['other', 'file:3', 'from'],
  ['other', 'verify', 'from'],
  ['other', 'place', 'from'],
  // Between the copy and the location file's write: the target is complete, the move is finished at the next start.
  ['other', 'locate', 'to'],
  ['other', 'clean', 'to'],
  ['other', 'finish', 'to'],
];

describe('a move killed with SIGKILL (another disk: the stand-in sameDevice: false on one file system)', () => {
  let n = 0;
  it.each(CASES)('%s disk, killed at %s: the next start finds all the data in the %s folder', async (disk, point, lands) => {
    const base = join(temp.path, `case-${++n}`);
    const from = join(base, 'data');
    const to = join(base, 'target', 'architect');
    await seedDataFolder(from, model, outside);
    const run = spawnSync(process.execPath, [mover, from, to, from, disk, point], { encoding: 'utf8', timeout: TIMEOUT });
    expect(run.signal, `${run.stdout}${run.stderr}`).toBe('SIGKILL');
    // The next start settles the move it finds journaled in the location file.
    const warnings: string[] = [];
    const originalWarn = console.warn;
    console.warn = (message: string) => warnings.push(message);
    let found: string;
    try {
      found = await resolveDataDir(from);
    } finally {
      console.warn = originalWarn;
    }
    const expected = lands === 'from' ? from : to;
    expect(found).toBe(expected);
    expect(warnings.join('\n')).toMatch(lands === 'from' ? /was undone, and the data is in/ : /it was finished there/);
    expect(readLocation(from).location).toEqual(lands === 'from' ? null : { dataDir: to });
    // Nothing of the move is left: the other folder holds no app data and no staging folder.
    expect(appEntries(lands === 'from' ? to : from)).toEqual([]);
    expect(readdirSync(found).filter((name) => name.startsWith('.architect-move-'))).toEqual([]);
    if (lands === 'from') expect(existsSync(to)).toBe(false);
    else expect(readdirSync(from)).toEqual([LOCATION_FILE]);
    await expectSeeded(found, outside);
    // And it starts again the same way.
    expect(await resolveDataDir(from)).toBe(expected);
  }, TIMEOUT);
});
