import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GeneratedKind } from '../../../shared/contract/generation';
import type { PromptCompletion } from '../../../shared/training/examples';
import { writeFileAtomic } from '../files';

/** What a job trains on, written once into its folder so a resume (even after a restart) sees the same data. */
export interface JobFiles {
  readonly dir: string;
  readonly examplesFile: string;
  readonly validationFile: string | undefined;
  readonly examples: number;
  readonly validation: number;
  /** SHA-256 of both files, for the version's manifest. */
  readonly sha256: string;
  /** The version the job continues from (adaptive jobs), fixed at its first start. */
  readonly parent: { number: number; adapterPath: string } | null;
  /** The artifact kinds of its training examples (what a version of it serves). */
  readonly kinds: GeneratedKind[];
}

interface JobMeta {
  examples: number;
  validation: number;
  sha256: string;
  hasValidation: boolean;
  parent: JobFiles['parent'];
  kinds?: GeneratedKind[];
}

const toJsonl = (examples: readonly PromptCompletion[]) => examples.map((e) => JSON.stringify(e)).join('\n') + (examples.length ? '\n' : '');

/** Whole or not at all, under a random temporary name (files.ts): nothing left at a name can block the write. */
async function writeAtomic(path: string, text: string): Promise<void> {
  await writeFileAtomic(path, text, { field: 'dataDir', what: 'The job file' });
}

/**
 * The job's data files in `<dataDir>/jobs/<id>/`: made by `make` at the first start, read back as they are
 * at every later one (meta.json is written last, so a half-written folder is made again).
 */
export async function jobFiles(
  dataDir: string,
  jobId: number,
  make: () => Promise<{ train: PromptCompletion[]; validation: PromptCompletion[] | null; parent: JobFiles['parent'] }>,
): Promise<JobFiles> {
  const dir = join(dataDir, 'jobs', String(jobId));
  const examplesFile = join(dir, 'examples.jsonl');
  const validationPath = join(dir, 'validation.jsonl');
  const metaFile = join(dir, 'meta.json');
  let meta: JobMeta;
  if (existsSync(metaFile)) {
    meta = JSON.parse(await readFile(metaFile, 'utf8')) as JobMeta;
  } else {
    const data = await make();
    await mkdir(dir, { recursive: true });
    const trainText = toJsonl(data.train);
    const validationText = data.validation ? toJsonl(data.validation) : '';
    await writeAtomic(examplesFile, trainText);
    if (data.validation) await writeAtomic(validationPath, validationText);
    meta = {
      examples: data.train.length,
      validation: data.validation?.length ?? 0,
      sha256: createHash('sha256').update(trainText).update('\0').update(validationText).digest('hex'),
      hasValidation: data.validation !== null,
      parent: data.parent,
      kinds: kindsOf(data.train),
    };
    await writeAtomic(metaFile, JSON.stringify(meta));
  }
  return {
    dir,
    examplesFile,
    validationFile: meta.hasValidation ? validationPath : undefined,
    examples: meta.examples,
    validation: meta.validation,
    sha256: meta.sha256,
    parent: meta.parent,
    kinds: meta.kinds ?? [],
  };
}

/** The distinct generated kinds among the examples, in the contract's order. */
export function kindsOf(examples: readonly PromptCompletion[]): GeneratedKind[] {
  const present = new Set(examples.map((e) => e.kind));
  return GeneratedKind.options.filter((k) => present.has(k));
}
