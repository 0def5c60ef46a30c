// A version registered straight in the store, without a training job: for tests of what is done with versions
// (exports, moves), not of how training makes them.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { NewVersion } from '../../db/versions';
import type { Store } from '../../db/store';
import type { InstalledModel } from '../../shared/contract/models';

/** Registers the adapter file at `adapterPath` (in its version folder) as v1 of `base`, a manual version for ERDs. */
export function storeVersion(store: Store, base: InstalledModel, adapterPath: string, extra: Partial<NewVersion> = {}): void {
  const bytes = readFileSync(adapterPath);
  store.versions.insert({
    modelId: base.id,
    baseName: base.name,
    baseSha256: base.sha256,
    number: 1,
    parent: null,
    jobId: null,
    jobType: 'manual',
    dir: dirname(adapterPath),
    adapterPath,
    adapterSha256: createHash('sha256').update(bytes).digest('hex'),
    adapterBytes: bytes.length,
    kinds: ['erd'],
    dataset: { examples: 1, validation: 0 },
    metrics: { trainLoss: null, validationLoss: null, steps: 1 },
    createdAt: new Date().toISOString(),
    ...extra,
  });
}
