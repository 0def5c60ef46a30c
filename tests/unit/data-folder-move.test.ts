// Moving the data folder, with real files and real SQLite: on the same disk (renames) and to another disk (a real
// tmpfs where this sandbox may mount, and a stand-in that says "another disk" on one file system); every refusal,
// with nothing changed; a failure mid-copy that leaves the old folder whole and serving; the location file as the
// CLI reads it; and a client of the headless host that sees the progress and then works against the new folder.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../db/connection';
import { rewritePaths } from '../../db/relocation';
import { CoreHolder } from '../../electron/core/app/coreHolder';
import { LOCATION_FILE, readLocation, resolveDataDir, writeLocation } from '../../electron/core/app/location';
import { DATA_ENTRIES } from '../../electron/core/app/move/entries';
import { executeMove } from '../../electron/core/app/move/execute';
import type { MoveHooks } from '../../electron/core/app/move/execute';
import { MOVE_MARGIN_BYTES, planMove } from '../../electron/core/app/move/plan';
import type { MoveSeams } from '../../electron/core/app/move/plan';
import { startHeadlessHost } from '../../electron/headless/host';
import { createCore } from '../../electron/core/services';
import { contract } from '../../shared/contract';
import type { DataFolderMoveProgress } from '../../shared/contract/app';
import { connectInProcess } from '../../shared/rpc/loopback';
import { REPO } from '../helpers/cli';
import { expectSeeded, seedDataFolder, snapshot } from '../helpers/dataFolderSeed';
import { datasetWorker } from '../helpers/datasets';
import { writeServedModel } from '../helpers/modelServer';
import { canMount, mount, umount } from '../helpers/mounts';
import { makeTempDir } from '../helpers/tempDir';
import { clientOver, openSocket } from '../helpers/wsClient';

const TIMEOUT = 60_000;
const temp = makeTempDir('architect-move-');
let model: string;
let outside: string;


/** "Another disk" on one file system: the copy path's stand-in where no second disk can be mounted. */
const otherDisk: MoveSeams = { sameDevice: async () => false };

let counter = 0;
/** A fresh, used data folder at `<temp>/<name>-N/data`, its own root; returns both. */
async function usedFolder(name: string): Promise<{ base: string; data: string }> {
  const base = join(temp.path, `${name}-${++counter}`);
  const data = join(base, 'data');
  await seedDataFolder(data, model, outside);
  return { base, data };
}

const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: Error & { code?: string }) => error);

beforeAll(() => {
  const fixtures = join(temp.path, 'fixtures');
  mkdirSync(fixtures);
  model = writeServedModel(fixtures, 'tiny.gguf', { nEmbd: 16, nFf: 32, tiedOutput: true }).path;
  outside = writeServedModel(fixtures, 'outside.gguf', { nEmbd: 16, nFf: 32, tiedOutput: true, seed: 9 }).path;
});

afterAll(() => temp.remove());

describe('a move on the same disk', () => {
  it('renames the app entries into the new folder, rewrites the stored paths, and the location file says so', async () => {
    const { base, data } = await usedFolder('same');
    writeFileSync(join(data, 'my-notes.txt'), 'not the app’s\n');
    const to = join(base, 'moved', 'here');
    const progress: number[] = [];
    const outcome = await executeMove({ from: data, to, root: data }, { onProgress: (_phase, copied) => progress.push(copied) });
    expect(outcome.mode).toBe('renamed');
    expect(progress.at(-1)).toBe(outcome.plan.dataBytes);
    // Only the user's own file and the location file are left.
    expect(readdirSync(data).sort()).toEqual([LOCATION_FILE, 'my-notes.txt']);
    expect(readLocation(data).location).toEqual({ dataDir: to });
    expect(readdirSync(to).filter((name) => name.startsWith('.architect-move-'))).toEqual([]);
    expect(await resolveDataDir(data)).toBe(to);
    await expectSeeded(to, outside);
  }, TIMEOUT);

  it('moves back into the folder it started from (the root may hold other files, the location file goes)', async () => {
    const { base, data } = await usedFolder('back');
    writeFileSync(join(data, 'Preferences'), '{"chromium": true}\n'); // Chromium's own files in the desktop app's folder
    const away = join(base, 'away');
    await executeMove({ from: data, to: away, root: data });
    await executeMove({ from: away, to: data, root: data });
    expect(existsSync(join(data, LOCATION_FILE))).toBe(false);
    expect(existsSync(away)).toBe(false); // emptied and removed: it was not the root
    expect(readFileSync(join(data, 'Preferences'), 'utf8')).toBe('{"chromium": true}\n');
    expect(await resolveDataDir(data)).toBe(data);
    await expectSeeded(data, outside);
  }, TIMEOUT);

  it('rewrites every stored path under a moved folder, and no other', () => {
    const db = openDatabase(join(temp.path, `paths-${++counter}.db`));
    try {
      db.pragma('foreign_keys = OFF');
      const now = new Date().toISOString();
      const sha = 'a'.repeat(64);
      const insertModel = db.prepare(
        "INSERT INTO models (name, path, managed, size_bytes, sha256, architecture, file_type, trainable, source, created_at) VALUES ('m', ?, 1, 1, ?, 'llama', 'F32', 1, 'import', ?)",
      );
      insertModel.run('/data/models/a.gguf', sha, now);
      insertModel.run('/data/mine/b.gguf', sha, now); // in the data folder, but not in a folder the app moves
      insertModel.run('/elsewhere/c.gguf', sha, now);
      insertModel.run('/data/models/ünïcode 𝄞.gguf', sha, now);
      db.prepare(
        "INSERT INTO versions (base_name, base_sha256, number, job_type, dir, adapter_path, adapter_sha256, adapter_bytes, status, kinds, dataset, metrics, created_at) VALUES ('m', ?, 1, 'manual', ?, ?, ?, 1, 'candidate', '[]', '{}', '{}', ?)",
      ).run(sha, '/data/finetuned_models/m/v1', '/data/finetuned_models/m/v1/adapter.gguf', sha, now);
      db.prepare("INSERT INTO training_jobs (type, status, checkpoint, version_dir, adapter_path, created_at, updated_at) VALUES ('manual', 'paused', ?, ?, ?, ?, ?)").run(
        '/data/jobs/1/checkpoints/step-2',
        '/data/finetuned_models/m/v1',
        '/data/finetuned_models/m/v1/adapter.gguf',
        now,
        now,
      );
      const changed = rewritePaths(db, '/data', '/new place', ['models', 'finetuned_models', 'jobs']);
      expect(changed).toBe(7);
      expect(db.prepare('SELECT path FROM models ORDER BY id').pluck().all()).toEqual(['/new place/models/a.gguf', '/data/mine/b.gguf', '/elsewhere/c.gguf', '/new place/models/ünïcode 𝄞.gguf']);
      expect(db.prepare('SELECT dir, adapter_path FROM versions').get()).toEqual({ dir: '/new place/finetuned_models/m/v1', adapter_path: '/new place/finetuned_models/m/v1/adapter.gguf' });
      expect(db.prepare('SELECT checkpoint, version_dir, adapter_path FROM training_jobs').get()).toEqual({
        checkpoint: '/new place/jobs/1/checkpoints/step-2',
        version_dir: '/new place/finetuned_models/m/v1',
        adapter_path: '/new place/finetuned_models/m/v1/adapter.gguf',
      });
      expect(rewritePaths(db, '/data', '/new place', ['models', 'finetuned_models', 'jobs'])).toBe(0); // idempotent
    } finally {
      db.close();
    }
  });

  it("takes every folder the core keeps in the data folder (each `join(…dataDir, '<name>')` in electron/core)", async () => {
    const files = spawnSync('grep', ['-rhoE', "join\\((this\\.deps\\.|options\\.|deps\\.)?dataDir, '[^']+'", `${REPO}electron/core`], { encoding: 'utf8' }).stdout;
    const names = new Set([...files.matchAll(/'([^']+)'/g)].map((m) => m[1]!));
    expect(names.size).toBeGreaterThan(3);
    for (const name of names) expect(DATA_ENTRIES, `${name} is kept in the data folder but a move would leave it`).toContain(name);
  });
});

describe('a move to another disk', () => {
  it('stand-in for another disk (sameDevice: false on one file system): copies into a staging folder, verifies, then removes the originals', async () => {
    const { base, data } = await usedFolder('copy');
    const to = join(base, 'other');
    const phases = new Set<string>();
    let copied = 0;
    const outcome = await executeMove({ from: data, to, root: data }, { seams: otherDisk, onProgress: (phase, bytes) => (phases.add(phase), (copied = bytes)) });
    expect(outcome.mode).toBe('copied');
    expect([...phases]).toEqual(['copying', 'verifying', 'switching']);
    expect(copied).toBe(outcome.plan.dataBytes);
    expect(readdirSync(data)).toEqual([LOCATION_FILE]);
    expect(await resolveDataDir(data)).toBe(to);
    await expectSeeded(to, outside);
  }, TIMEOUT);

  it.skipIf(!canMount)('to a real second disk (a tmpfs): copied, verified, the database checked, the originals removed', async () => {
    const { base, data } = await usedFolder('tmpfs');
    const disk = join(base, 'disk');
    mkdirSync(disk);
    expect(mount('-t', 'tmpfs', '-o', 'size=1g', 'tmpfs', disk).status).toBe(0);
    try {
      const to = join(disk, 'architect');
      const plan = await planMove({ from: data, to, root: data });
      expect(plan).toMatchObject({ sameDisk: false, neededBytes: plan.dataBytes + MOVE_MARGIN_BYTES });
      expect(plan.freeBytes).toBeGreaterThan(plan.neededBytes);
      const before = snapshot(data);
      expect((await executeMove({ from: data, to, root: data })).mode).toBe('copied');
      // Byte for byte what was there (the database too: it was checkpointed, then copied).
      const after = snapshot(to);
      for (const [path, value] of Object.entries(before)) if (path !== 'architect.db') expect(after[path], path).toBe(value);
      expect(readdirSync(data)).toEqual([LOCATION_FILE]);
      await expectSeeded(to, outside);
    } finally {
      umount(disk);
    }
  }, TIMEOUT);
});

describe('refusals: nothing is changed, and the message names the folder and what to do', () => {
  let base: string;
  let data: string;
  let before: Record<string, string>;

  beforeAll(async () => {
    ({ base, data } = await usedFolder('refuse'));
    before = snapshot(data);
  }, TIMEOUT);

  const refusal = async (to: string, seams?: MoveSeams) => {
    const error = await failure(executeMove({ from: data, to, root: data }, { seams }));
    expect(error, `a move to ${to} was not refused`).toBeDefined();
    expect(snapshot(data)).toEqual(before);
    expect(existsSync(join(data, LOCATION_FILE))).toBe(false);
    return error!;
  };

  it('a relative path, the folder itself, a folder inside it, a folder holding it', async () => {
    expect((await refusal('elsewhere/data')).message).toBe(
      'elsewhere/data is not an absolute path: give the whole path of the new folder (e.g. /mnt/disk/architect); nothing was changed.',
    );
    expect((await refusal(data)).message).toBe(`${data} is the data folder already: choose another folder; nothing was changed.`);
    expect((await refusal(`${data}${sep}`)).message).toContain('is the data folder already');
    expect((await refusal(join(data, 'models', 'inner'))).message).toBe(
      `${join(data, 'models', 'inner')} is inside the data folder ${data}: a folder cannot move into itself. Choose a folder outside it; nothing was changed.`,
    );
    expect((await refusal(base)).message).toBe(`${base} holds the data folder ${data}: choose a new or empty folder outside it; nothing was changed.`);
    expect(existsSync(join(data, 'models', 'inner'))).toBe(false);
  });

  it('a folder that is not empty, or holds Architect data; a file; a path through a file', async () => {
    const full = join(base, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'notes.txt'), 'mine\n');
    expect((await refusal(full)).message).toBe(
      `${full} is not empty (it holds 'notes.txt'): choose a new or empty folder, so that nothing of yours is mixed with the app's data; nothing was changed.`,
    );
    const other = join(base, 'other-data');
    mkdirSync(join(other, 'models'), { recursive: true });
    expect((await refusal(other)).message).toBe(`${other} holds Architect data already (models): choose a new or empty folder; nothing was changed.`);
    const file = join(base, 'a-file');
    writeFileSync(file, 'x');
    expect((await refusal(file)).message).toBe(`${file} is a file, not a folder: choose a new or empty folder; nothing was changed.`);
    expect((await refusal(join(file, 'sub'))).message).toBe(`${join(file, 'sub')} cannot be created: ${file} is a file, not a folder. Choose another place; nothing was changed.`);
    expect(readFileSync(join(full, 'notes.txt'), 'utf8')).toBe('mine\n');
  });

  it.skipIf(!canMount)('a folder on a read-only file system (a read-only bind mount)', async () => {
    const readOnly = join(base, 'read-only');
    mkdirSync(readOnly);
    expect(mount('--bind', readOnly, readOnly).status).toBe(0);
    try {
      expect(mount('-o', 'remount,bind,ro', readOnly).status).toBe(0);
      expect((await refusal(readOnly)).message).toBe(`${readOnly} cannot be written (a read-only file system): choose a folder this user can write; nothing was changed.`);
      expect((await refusal(join(readOnly, 'new'))).message).toBe(
        `${join(readOnly, 'new')} cannot be created (a read-only file system in ${readOnly}): choose a folder this user can write; nothing was changed.`,
      );
    } finally {
      umount(readOnly);
    }
  });

  it('another disk without room for the data and the margin: both numbers said (a real 1 MB tmpfs, or a stand-in free space)', async () => {
    const to = join(base, 'small');
    let seams: MoveSeams = { ...otherDisk, freeSpace: async () => 1_000_000 };
    if (canMount) {
      mkdirSync(to);
      expect(mount('-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', to).status).toBe(0);
      seams = {};
    }
    try {
      const error = await refusal(join(to, 'architect'), seams);
      expect(error.message).toMatch(
        new RegExp(`^The disk of ${join(to, 'architect')} has (1 MB|1024 KB|1000 KB) free, and the data needs \\d+ (KB|MB) plus a margin of 500 MB \\(\\d+ MB\\): free some space there or choose another disk; nothing was changed\\.$`),
      );
    } finally {
      if (canMount) umount(to);
    }
  });

  it('a training job or a model download running in another process, named, with what to do', async () => {
    const other = spawn('sleep', ['60']);
    try {
      const now = new Date().toISOString();
      const db = openDatabase(join(data, 'architect.db'));
      const jobId = Number(db.prepare("INSERT INTO training_jobs (type, status, owner_pid, created_at, updated_at) VALUES ('manual', 'running', ?, ?, ?)").run(other.pid, now, now).lastInsertRowid);
      db.close();
      const snapshotNow = snapshot(data);
      const job = await failure(executeMove({ from: data, to: join(base, 'while-training'), root: data }));
      expect(job).toMatchObject({ code: 'conflict' });
      expect(job!.message).toBe(
        `Training job ${jobId} (manual) is running in process ${other.pid}: pause it on the Training page (or \`architect pause ${jobId}\`) or wait for it to finish, then move the data folder; nothing was changed.`,
      );
      const again = openDatabase(join(data, 'architect.db'));
      again.prepare("UPDATE training_jobs SET status = 'paused', owner_pid = NULL WHERE id = ?").run(jobId);
      const downloadId = Number(
        again.prepare("INSERT INTO downloads (uri, file_name, state, owner_pid, created_at, updated_at) VALUES ('hf:x/y/big.gguf', 'big.gguf', 'downloading', ?, ?, ?)").run(other.pid, now, now).lastInsertRowid,
      );
      again.close();
      const download = await failure(executeMove({ from: data, to: join(base, 'while-downloading'), root: data }));
      expect(download!.message).toBe(`The download of big.gguf (download ${downloadId}) is running: pause it on the Models page or wait for it to finish, then move the data folder; nothing was changed.`);
      expect(existsSync(join(base, 'while-training'))).toBe(false);
      expect(existsSync(join(base, 'while-downloading'))).toBe(false);
      // A row whose process is gone (a crash) does not hold a move back.
      const last = openDatabase(join(data, 'architect.db'));
      last.prepare("UPDATE downloads SET state = 'paused', owner_pid = NULL WHERE id = ?").run(downloadId);
      last.close();
      expect(Object.keys(snapshotNow)).toEqual(Object.keys(snapshot(data)));
    } finally {
      other.kill();
    }
    before = snapshot(data);
  }, TIMEOUT);

  it('the database open in another process (the app, a worker): refused before anything moves', async () => {
    const holder = await holdOpen(join(data, 'architect.db'));
    try {
      const error = await failure(executeMove({ from: data, to: join(base, 'while-open'), root: data }));
      expect(error).toMatchObject({ code: 'conflict' });
      expect(error!.message).toBe(
        `Another process has the data in ${data} open (the desktop app, \`architect serve\`, \`architect worker\` or another architect command): close it, then move the folder again; nothing was changed.`,
      );
      expect(existsSync(join(base, 'while-open'))).toBe(false);
    } finally {
      holder.kill();
    }
  }, TIMEOUT);

  it('through the app: refused with the core still serving (nothing was stopped)', async () => {
    const holder = await CoreHolder.start({ root: data, dataDir: data, start: (dataDir) => createCore({ dataDir }) });
    try {
      const core = holder.core;
      const { api } = connectInProcess(contract, holder);
      await expect(api.app.moveDataFolder({ to: 'relative/path' })).rejects.toMatchObject({ code: 'invalid_arguments', field: 'args.to' });
      await expect(api.app.planDataFolderMove({ to: data })).rejects.toThrow('is the data folder already');
      expect(holder.core).toBe(core);
      expect((await api.artifacts.list({})).total).toBe(3);
    } finally {
      await holder.close();
    }
  }, TIMEOUT);
});

describe('work in this app that a stop would break', () => {
  it('a dataset import running: refused, naming it, while the core goes on serving and the import ends', async () => {
    const { base, data } = await usedFolder('importing');
    const workerFile = await datasetWorker();
    const holder = await CoreHolder.start({ root: data, dataDir: data, start: (dataDir) => createCore({ dataDir, datasetWorkerFile: workerFile }) });
    try {
      const core = holder.core!;
      // About 20 MiB of examples: seconds of import, long enough to ask for the move while it runs.
      const file = join(base, 'large.jsonl');
      const filler = 'The service stores orders, their line items and shipping addresses; '.repeat(34);
      writeFileSync(file, Array.from({ length: 8000 }, (_, i) => JSON.stringify({ prompt: `Describe system ${i}. ${filler}`, completion: `erDiagram\n  ORDER_${i} ||--|{ ITEM : has` })).join('\n'));
      let progressed!: () => void;
      const running = new Promise<void>((resolve) => (progressed = resolve));
      const imported = core.services.datasets.importFile(file, {}, { onProgress: () => progressed() });
      await running;
      const error = await failure(holder.planMove(join(base, 'while-importing')));
      expect(error).toMatchObject({ code: 'conflict' });
      expect(error!.message).toBe('A dataset import is running: wait for it to finish or cancel it on the Datasets page, then move the data folder; nothing was changed.');
      expect(existsSync(join(base, 'while-importing'))).toBe(false);
      expect(holder.core).toBe(core);
      expect((await imported).status).toBe('imported');
      await expect(holder.planMove(join(base, 'after-import'))).resolves.toMatchObject({ to: join(base, 'after-import') });
    } finally {
      await holder.close();
    }
  }, TIMEOUT);
});

/** A child process with the database open (a connection held, as the app's), until killed. */
async function holdOpen(file: string): Promise<ChildProcess> {
  const script = `const D = require('better-sqlite3'); const db = new D(${JSON.stringify(file)}); db.pragma('journal_mode = WAL'); db.prepare('SELECT 1').get(); console.log('open'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the holder exited with ${code}`)));
  });
  return child;
}

describe('a move that fails mid-copy', () => {
  const failAt = (n: number): MoveHooks => {
    let files = 0;
    return {
      afterFile: () => {
        if (++files === n) throw new Error('stand-in copy error (EIO)');
      },
    };
  };

  it('stand-in copy error: undone, the old folder byte for byte as it was, the target gone, the location file unchanged', async () => {
    const { base, data } = await usedFolder('fail');
    writeLocation(data, null);
    const before = snapshot(data);
    const to = join(base, 'target');
    const error = await failure(executeMove({ from: data, to, root: data }, { seams: otherDisk, hooks: failAt(4) }));
    expect(error).toMatchObject({ code: 'unavailable' });
    expect(error!.message).toBe(`Moving the data folder to ${to} failed while copying the files (stand-in copy error (EIO)); the move was undone and the data is in ${data} as before.`);
    expect(snapshot(data)).toEqual(before);
    expect(existsSync(to)).toBe(false);
    expect(existsSync(join(data, LOCATION_FILE))).toBe(false);
    await expectSeeded(data, outside);
  }, TIMEOUT);

  it('stand-in rename error on the same disk: the renamed entries are put back', async () => {
    const { base, data } = await usedFolder('fail-rename');
    const before = snapshot(data);
    const to = join(base, 'target');
    const error = await failure(executeMove({ from: data, to, root: data }, { hooks: failAt(3) }));
    expect(error!.message).toMatch(/failed while moving the files \(stand-in copy error \(EIO\)\); the move was undone/);
    expect(snapshot(data)).toEqual(before);
    expect(existsSync(to)).toBe(false);
    await expectSeeded(data, outside);
  }, TIMEOUT);

  it.skipIf(!canMount)('a target disk that turns read-only mid-copy (a tmpfs remounted ro): undone; the app serves from the old folder again', async () => {
    const { base, data } = await usedFolder('fail-ro');
    const disk = join(base, 'disk');
    mkdirSync(disk);
    expect(mount('-t', 'tmpfs', '-o', 'size=1g', 'tmpfs', disk).status).toBe(0);
    try {
      let files = 0;
      const hooks: MoveHooks = { afterFile: () => void (++files === 3 && mount('-o', 'remount,ro', disk)) };
      const holder = await CoreHolder.start({ root: data, dataDir: data, start: (dataDir) => createCore({ dataDir }), hooks });
      try {
        const { api } = connectInProcess(contract, holder);
        const to = join(disk, 'architect');
        const error = await failure(api.app.moveDataFolder({ to }));
        expect(error!.message).toMatch(new RegExp(`^Moving the data folder to ${to} failed while copying the files \\(.*(EROFS|read-only).*\\); the move was undone and the data is in ${data} as before\\. The partial copy could not be deleted: remove ${to}/\\.architect-move-[0-9a-f]+ yourself\\.$`));
        // Serving again, from the old folder, everything there.
        expect((await api.app.dataFolder({})).path).toBe(data);
        expect((await api.artifacts.list({})).total).toBe(3);
        expect(existsSync(join(data, LOCATION_FILE))).toBe(false);
      } finally {
        await holder.close();
      }
      await expectSeeded(data, outside);
    } finally {
      umount(disk);
    }
  }, TIMEOUT);
});

describe('the location file', () => {
  it('a corrupt or foreign one counts as none, with a warning naming it', async () => {
    const root = join(temp.path, `corrupt-${++counter}`);
    mkdirSync(root);
    const warnings: string[] = [];
    writeFileSync(join(root, LOCATION_FILE), '{"dataDir": ');
    expect(await resolveDataDir(root, { warn: (m) => warnings.push(m) })).toBe(root);
    writeFileSync(join(root, LOCATION_FILE), '{"dataDir": "relative/place"}');
    expect(await resolveDataDir(root, { warn: (m) => warnings.push(m) })).toBe(root);
    expect(warnings).toEqual([
      `The data location file ${join(root, LOCATION_FILE)} is not valid JSON: the data folder ${root} is used. Fix or delete the file to choose.`,
      `The data location file ${join(root, LOCATION_FILE)} does not name an absolute data folder: the data folder ${root} is used. Fix or delete the file to choose.`,
    ]);
    // A move is not made on top of it: where the data is would be a guess.
    await expect(planMove({ from: root, to: join(root, '..', `after-corrupt-${counter}`), root })).rejects.toThrow(`The data location file ${join(root, LOCATION_FILE)} does not name an absolute data folder: fix or delete it first`);
  });

  it('is written atomically (no temporary file left) and followed from folder to folder', async () => {
    const a = join(temp.path, `chain-${++counter}`);
    const b = join(temp.path, `chain-${counter}-b`);
    const c = join(temp.path, `chain-${counter}-c`);
    for (const dir of [a, b, c]) mkdirSync(dir);
    writeLocation(a, { dataDir: b });
    writeLocation(b, { dataDir: c });
    expect(readdirSync(a)).toEqual([LOCATION_FILE]);
    expect(JSON.parse(await readFile(join(a, LOCATION_FILE), 'utf8'))).toEqual({ dataDir: b });
    expect(await resolveDataDir(a)).toBe(c);
    writeLocation(c, { dataDir: a });
    const warnings: string[] = [];
    expect(await resolveDataDir(a, { warn: (m) => warnings.push(m) })).toBe(a);
    expect(warnings[0]).toMatch(/go round in a loop/);
  });

  it('a move another process is doing: refused, naming both folders', async () => {
    const root = join(temp.path, `busy-${++counter}`);
    mkdirSync(root);
    const journal = { id: 'abc', from: root, to: '/mnt/x', mode: 'copy' as const, phase: 'staging' as const, pid: process.pid, startedAt: '2025-01-01T00:00:00.000Z', createdTo: true, entries: [] };
    writeLocation(root, { dataDir: root, moving: journal });
    await expect(resolveDataDir(root)).rejects.toThrow(`The data folder is being moved from ${root} to /mnt/x (by process ${process.pid}, since 2025-01-01T00:00:00.000Z): start again once it is done.`);
  });

  it('the CLI reads it for its default folder (HOME and XDG_CONFIG_HOME in a temp folder), and `architect data-folder` shows and moves', async () => {
    const home = join(temp.path, `home-${++counter}`);
    const env = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, 'config') };
    const root = join(home, 'config', 'Architect.AI Studio');
    const elsewhere = join(home, 'disk', 'architect');
    await seedDataFolder(elsewhere, model, outside);
    mkdirSync(root, { recursive: true });
    writeLocation(root, { dataDir: elsewhere });
    const cli = (...args: string[]) => spawnSync(process.execPath, [`${REPO}bin/architect.js`, ...args], { encoding: 'utf8', env, timeout: TIMEOUT });
    const shown = cli('data-folder', '--json');
    expect(shown.status, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ path: elsewhere, root, locationFile: join(root, LOCATION_FILE), writable: true });
    const stats = cli('stats', '--json');
    expect(stats.status, stats.stderr).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ artifacts: 3 });
    // --data-dir wins over the default's location file.
    expect(JSON.parse(cli('data-folder', '--json', '--data-dir', join(home, 'explicit')).stdout)).toMatchObject({ path: join(home, 'explicit'), locationFile: null });

    const next = join(home, 'next');
    const moved = cli('data-folder', 'move', next);
    expect(moved.status, moved.stderr).toBe(0);
    expect(moved.stdout).toBe(`The data folder is now ${next} (renamed on the same disk).\n`);
    expect(moved.stderr).toMatch(/^Moving \d+ MB of data from .* to .* \(the same disk: renamed\)…\n/);
    expect(readLocation(root).location).toEqual({ dataDir: next });
    expect(existsSync(elsewhere)).toBe(false);
    expect(JSON.parse(cli('stats', '--json').stdout)).toMatchObject({ artifacts: 3 });

    const refused = cli('data-folder', 'move', join(next, 'inside'));
    expect(refused.status).toBe(1);
    expect(refused.stderr).toBe(`architect data-folder: ${join(next, 'inside')} is inside the data folder ${next}: a folder cannot move into itself. Choose a folder outside it; nothing was changed.\n`);
    // Back into the default folder: the location file goes.
    expect(cli('data-folder', 'move', root).status).toBe(0);
    expect(existsSync(join(root, LOCATION_FILE))).toBe(false);
    expect(JSON.parse(cli('data-folder', '--json').stdout)).toMatchObject({ path: root, locationFile: null });

    writeFileSync(join(root, LOCATION_FILE), 'garbage');
    const corrupt = cli('data-folder', '--json');
    expect(JSON.parse(corrupt.stdout)).toMatchObject({ path: root });
    expect(corrupt.stderr).toContain(`[data] The data location file ${join(root, LOCATION_FILE)} is not valid JSON: the data folder ${root} is used.`);
  }, TIMEOUT);
});

describe('through the headless host', () => {
  it('a client sees the progress, its call answered with the new folder; another client is re-attached and works against it', async () => {
    const { base, data } = await usedFolder('host');
    const staticDir = join(base, 'static');
    mkdirSync(staticDir);
    writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>app</title>');
    const to = join(base, 'new-home');
    let duringMove: Promise<unknown> | undefined;
    let watcherApi: ReturnType<typeof clientOver>['api'] | undefined;
    const hooks: MoveHooks = {
      beforeStep: (step) => {
        // A call while the core is down is refused with why, at once.
        if (step === 'verify') duringMove = watcherApi!.artifacts.list({}).then(() => 'answered', (error: Error) => error.message);
      },
    };
    const holder = await CoreHolder.start({ root: data, dataDir: data, start: (dataDir) => createCore({ dataDir }), seams: otherDisk, hooks });
    const host = await startHeadlessHost({ rpc: holder, staticDir });
    const url = `ws://127.0.0.1:${host.port}/rpc?token=${host.token}`;
    const moverSocket = await openSocket(url);
    const watcherSocket = await openSocket(url);
    try {
      const mover = clientOver(moverSocket);
      const watcher = clientOver(watcherSocket);
      watcherApi = watcher.api;
      const seen: DataFolderMoveProgress[] = [];
      const watched: string[] = [];
      mover.on('app.dataFolderMove', (p) => seen.push(p));
      watcher.on('app.dataFolderMove', (p) => watched.push(p.phase));
      const notified: string[] = [];
      watcher.on('app.notification', (n) => notified.push(n.title));
      expect((await watcher.api.artifacts.list({})).total).toBe(3); // subscriptions are in before the move

      const plan = await mover.api.app.planDataFolderMove({ to });
      expect(plan).toMatchObject({ from: data, to, sameDisk: false });
      const result = await mover.api.app.moveDataFolder({ to });
      expect(result).toMatchObject({ from: data, to, mode: 'copied', bytes: plan.dataBytes, folder: { path: to, writable: true, problem: null } });

      const phases = seen.map((p) => p.phase);
      expect(phases[0]).toBe('stopping');
      expect(phases).toContain('copying');
      expect(phases.slice(-4)).toEqual(['verifying', 'switching', 'starting', 'done']);
      const copying = seen.filter((p) => p.phase === 'copying').map((p) => p.copiedBytes);
      expect(copying).toEqual([...copying].sort((x, y) => x - y));
      expect(copying.at(-1)).toBe(plan.dataBytes);
      expect(seen.every((p) => p.from === data && p.to === to && p.totalBytes === plan.dataBytes)).toBe(true);
      expect(await duringMove).toBe(`The app is moving its data folder to ${to}: call again once the move is done.`);

      // The other client: told, re-attached, its subscriptions with it; its calls reach the new folder.
      await expect.poll(() => watched.at(-1)).toBe('done');
      expect((await watcher.api.app.dataFolder({})).path).toBe(to);
      expect((await watcher.api.artifacts.list({})).total).toBe(3);
      await watcher.api.artifacts.add({ kind: 'other', prompt: 'after the move', output: 'stored in the new folder', validate: false });
      expect((await mover.api.artifacts.list({})).total).toBe(4);
      await expect.poll(() => notified).toContain('The data folder moved');
      expect(holder.dataDir).toBe(to);
    } finally {
      moverSocket.close();
      watcherSocket.close();
      await host.close();
      await holder.close();
    }
    expect(readLocation(data).location).toEqual({ dataDir: to });
    expect(readdirSync(data)).toEqual([LOCATION_FILE]);
    const core = await createCore({ dataDir: to });
    try {
      expect((await core.connect().api.artifacts.list({})).total).toBe(4);
    } finally {
      await core.dispose();
    }
  }, TIMEOUT);
});
