// A used data folder for the move tests, made through the real core: artifacts, a base model in models/ and one
// imported where it lies outside the folder, a version's adapter in finetuned_models/ with its row, a paused job with
// its checkpoint in jobs/, a prompt template; and the check that a folder holds all of it, read back the same way.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'vitest';
import { createCore } from '../../electron/core/services';
import { storeVersion } from './storedVersion';

export const ARTIFACTS = 3;
export const MODEL_FILE = 'tiny.gguf';

/** Seeds `dataDir` (created) with a copy of the GGUF file `model` and a registration of `outside` where it lies. */
export async function seedDataFolder(dataDir: string, model: string, outside: string): Promise<void> {
  const core = await createCore({ dataDir });
  try {
    const { api } = core.connect();
    for (let i = 0; i < ARTIFACTS; i++) await api.artifacts.add({ kind: 'other', prompt: `prompt ${i}`, output: `output ${i}`, validate: false });
    mkdirSync(join(dataDir, 'models'), { recursive: true });
    copyFileSync(model, join(dataDir, 'models', MODEL_FILE));
    const base = await api.models.import({ path: join(dataDir, 'models', MODEL_FILE) });
    await api.models.import({ path: outside });
    const dir = join(dataDir, 'finetuned_models', `tiny-${base.sha256.slice(0, 12)}`, 'v1');
    mkdirSync(dir, { recursive: true });
    const adapter = Buffer.from('an adapter, for the move tests\n'.repeat(100));
    writeFileSync(join(dir, 'adapter.gguf'), adapter);
    writeFileSync(join(dir, 'manifest.json'), '{"version":1}\n');
    const now = new Date().toISOString();
    storeVersion(core.services.store, base, join(dir, 'adapter.gguf'), {
      dataset: { examples: 10, validation: 1 },
      metrics: { trainLoss: 1, validationLoss: 1.2, steps: 10 },
      createdAt: now,
    });
    const checkpoint = join(dataDir, 'jobs', '1', 'checkpoints', 'step-10');
    mkdirSync(checkpoint, { recursive: true });
    writeFileSync(join(checkpoint, 'state.json'), '{"step":10}\n');
    core.services.store.db
      .prepare("INSERT INTO training_jobs (type, status, checkpoint, message, created_at, updated_at) VALUES ('manual', 'paused', ?, 'Paused at step 10.', ?, ?)")
      .run(checkpoint, now, now);
    mkdirSync(join(dataDir, 'prompts'), { recursive: true });
    writeFileSync(join(dataDir, 'prompts', 'erd.md'), 'My ERD prompt: {{requirements}}\n');
  } finally {
    await core.dispose();
  }
}

/** Starts a core on `dataDir` and checks it holds everything seedDataFolder made, its stored paths inside `dataDir`. */
export async function expectSeeded(dataDir: string, outside: string): Promise<void> {
  const core = await createCore({ dataDir });
  try {
    const { api } = core.connect();
    expect((await api.artifacts.list({})).total).toBe(ARTIFACTS);
    const { models } = await api.models.list({});
    const managed = models.find((m) => m.path.endsWith(MODEL_FILE))!;
    expect(managed.path).toBe(join(dataDir, 'models', MODEL_FILE));
    expect(existsSync(managed.path)).toBe(true);
    expect(models.find((m) => m.path === outside)).toBeDefined();
    const [version] = (await api.versions.list({})).versions;
    expect(version).toMatchObject({ number: 1, damaged: null });
    expect(version!.adapterPath.startsWith(join(dataDir, 'finetuned_models'))).toBe(true);
    const job = core.services.store.jobs.get(1)!;
    expect(job.checkpoint).toBe(join(dataDir, 'jobs', '1', 'checkpoints', 'step-10'));
    expect(readFileSync(join(job.checkpoint!, 'state.json'), 'utf8')).toBe('{"step":10}\n');
    expect(readFileSync(join(dataDir, 'prompts', 'erd.md'), 'utf8')).toContain('My ERD prompt');
  } finally {
    await core.dispose();
  }
}

/** Every file under `folder` with its size and SHA-256 (folders as 'dir'); SQLite's WAL files and write probes left out. */
export function snapshot(folder: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(folder)) return out;
  const walk = (path: string) => {
    for (const name of readdirSync(path).sort()) {
      const full = join(path, name);
      const rel = relative(folder, full);
      if (/^architect\.db-(wal|shm)$/.test(rel) || name.startsWith('.architect-write-check-')) continue;
      const info = lstatSync(full);
      if (info.isDirectory()) {
        out[rel] = 'dir';
        walk(full);
      } else {
        out[rel] = `${info.size}:${createHash('sha256').update(readFileSync(full)).digest('hex').slice(0, 16)}`;
      }
    }
  };
  walk(folder);
  return out;
}
