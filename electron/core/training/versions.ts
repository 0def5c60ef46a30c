import { copyFile, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstalledModel } from '../../../shared/contract/models';
import type { TrainingConfig } from '../../../shared/training/config';
import { syncToDisk } from '../durable';
import { sha256File } from '../models/hash';

/** `<data>/finetuned_models/<base>/`: the base model's folder name, from its SHA-256 so a rename cannot mix two bases. */
export function baseFolder(dataDir: string, model: Pick<InstalledModel, 'name' | 'sha256'>): string {
  const slug = model.name.toLowerCase().replace(/[^a-z0-9.]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'model';
  return join(dataDir, 'finetuned_models', `${slug}-${model.sha256.slice(0, 12)}`);
}

/** The versions written for a base so far, by number (v1, v2, …). */
export async function versionNumbers(folder: string): Promise<number[]> {
  const names = await readdir(folder).catch(() => [] as string[]);
  return names
    .map((n) => /^v([1-9]\d*)$/.exec(n)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

export interface VersionManifest {
  readonly version: number;
  readonly parent: number | null;
  readonly jobId: number;
  readonly jobType: 'manual' | 'adaptive';
  readonly base: { name: string; path: string; sha256: string };
  readonly adapterSha256: string;
  readonly config: TrainingConfig;
  readonly dataset: { sha256: string; examples: number; validation: number };
  readonly metrics: { trainLoss: number | null; validationLoss: number | null; steps: number };
  readonly createdAt: string;
}

/**
 * Writes `v<N>/` (N = one past the newest) with `adapter.gguf` and `manifest.json`, atomically: built in a
 * hidden folder, synced, then renamed into place, so a crash leaves either the whole version or none.
 */
export async function writeVersion(
  folder: string,
  adapter: string,
  manifest: Omit<VersionManifest, 'version' | 'adapterSha256'>,
  /** The highest number the registry has for this base (a deleted version's number is not reused). */
  registered = 0,
): Promise<{ number: number; dir: string; adapterPath: string; adapterSha256: string }> {
  await mkdir(folder, { recursive: true });
  const number = Math.max((await versionNumbers(folder)).at(-1) ?? 0, registered) + 1;
  const dir = join(folder, `v${number}`);
  const staging = join(folder, `.v${number}.partial`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging);
  let adapterSha256: string;
  try {
    await copyFile(adapter, join(staging, 'adapter.gguf'));
    adapterSha256 = await sha256File(join(staging, 'adapter.gguf'));
    const full: VersionManifest = { ...manifest, version: number, adapterSha256 };
    await writeFile(join(staging, 'manifest.json'), `${JSON.stringify(full, null, 2)}\n`);
    syncToDisk(join(staging, 'adapter.gguf'));
    syncToDisk(join(staging, 'manifest.json'));
    syncToDisk(staging, 'folder');
    await rename(staging, dir);
    syncToDisk(folder, 'folder');
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return { number, dir, adapterPath: join(dir, 'adapter.gguf'), adapterSha256 };
}
