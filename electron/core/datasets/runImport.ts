// The work of one import or build, run inside the dataset worker thread (importWorker.ts).
import { createHash } from 'node:crypto';
import { closeSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { openDatabase } from '../../../db/connection';
import type { Db } from '../../../db/connection';
import { commitStaged, removeStaging, StagingFile } from '../../../db/datasetStaging';
import type { DatasetMeta } from '../../../db/datasetStaging';
import { DatasetRepo } from '../../../db/datasets';
import { LearningRepo } from '../../../db/learning';
import type { ImportJob } from '../../../shared/contract/datasetJobs';
import { MAX_REPORTED_ERRORS } from '../../../shared/contract/datasets';
import type { ImportOutcome, ImportPhase, ImportProgress, ImportReport, LineError } from '../../../shared/contract/datasets';
import { AppError } from '../../../shared/errors';
import { DatasetReader } from '../../../shared/datasets/reader';
import { flatPrompt, identityText } from '../../../shared/datasets/records';
import type { DatasetRecord } from '../../../shared/datasets/records';
import { openRegularFileSync } from '../files';
import type { Tokenizer } from './tokenizer';
import { loadTokenizer } from './tokenizer';

export interface JobHooks {
  /** Polled between chunks; true stops the job with AppError('cancelled') before anything is stored. */
  cancelled(): boolean;
  progress(progress: ImportProgress): void;
}

const CHUNK_BYTES = 1024 * 1024;
const FEEDBACK_PROGRESS_EVERY = 1000;

type FileJob = Extract<ImportJob, { source: 'file' }>;
type FeedbackJob = Extract<ImportJob, { source: 'feedback' }>;

/** Reads the input into a staging file, decides, and commits; the staging file never outlives the job. */
export async function runImport(job: ImportJob, hooks: JobHooks): Promise<ImportOutcome> {
  const db = openDatabase(job.dbFile);
  let tokenizer: Tokenizer | undefined;
  let stage: Stage | undefined;
  try {
    tokenizer = job.tokenizerModel ? await loadTokenizer(job.tokenizerModel) : undefined;
    stage = new Stage(job, hooks, tokenizer);
    return job.source === 'file' ? importFile(db, job, stage) : buildFromFeedback(db, job, stage);
  } finally {
    stage?.staging.close();
    await tokenizer?.dispose();
    db.close();
    removeStaging(job.stagingFile);
  }
}

/** Hashes, counts and stages examples; reports progress; checks for cancellation. */
class Stage {
  readonly staging: StagingFile;
  readonly errors: LineError[] = [];
  /** Bad records (errors on a line), all of them: `errors` keeps only the first MAX_REPORTED_ERRORS. */
  badRecords = 0;
  private progress: ImportProgress;

  constructor(
    readonly job: ImportJob,
    private readonly hooks: JobHooks,
    private readonly tokenizer: Tokenizer | undefined,
  ) {
    this.staging = new StagingFile(job.stagingFile, job.seed);
    this.progress = { jobId: job.jobId, phase: 'checking', done: 0, total: 0, records: 0, valid: 0, invalid: 0 };
  }

  add(line: number, record: DatasetRecord): void {
    const hash = createHash('sha256').update(identityText(record)).digest().subarray(0, 16);
    const tokens = this.tokenizer ? this.tokenizer.count(flatPrompt(record)) + this.tokenizer.count(record.completion) : null;
    this.staging.add({ line, record, hash, tokens });
  }

  error(line: number, message: string): void {
    if (line > 0) this.badRecords++;
    if (this.errors.length < MAX_REPORTED_ERRORS) this.errors.push({ line, message });
  }

  report(phase: ImportPhase, fields: Partial<Omit<ImportProgress, 'jobId' | 'phase'>>): void {
    if (this.hooks.cancelled()) throw new AppError('cancelled', 'The import was cancelled; nothing was stored.');
    this.progress = { ...this.progress, phase, ...fields };
    this.hooks.progress(this.progress);
  }

  meta(fields: Pick<DatasetMeta, 'defaultName' | 'source' | 'sourceFile' | 'container' | 'format' | 'contentHash' | 'report' | 'filters'>): DatasetMeta {
    return {
      ...fields,
      name: this.job.name,
      validationShare: this.job.validationShare,
      seed: this.job.seed,
      dropDuplicates: this.job.dropDuplicates,
      tokenizer: this.tokenizer ? basename(this.job.tokenizerModel!) : null,
      now: this.job.now,
    };
  }
}

function importFile(db: Db, job: FileJob, stage: Stage): ImportOutcome {
  const repo = new DatasetRepo(db);
  // Checked again as it is opened here: a path swapped for a FIFO or a device since the service checked it is refused, never waited on.
  const { fd, size } = openRegularFileSync(job.file, { field: 'file', what: 'The dataset file' });
  let reader: DatasetReader;
  let contentHash: string;
  try {
    contentHash = hashFile(fd, size, stage);
    const existing = repo.byContentHash(contentHash);
    if (existing) return { status: 'duplicate', dataset: existing };
    reader = new DatasetReader({ record: (line, record) => stage.add(line, record), error: (line, message) => stage.error(line, message) }, { maxRecordBytes: job.maxRecordBytes });
    stage.report('reading', { done: 0, total: size });
    readChunks(fd, size, (chunk, done) => {
      reader.push(chunk);
      stage.report('reading', { done, records: reader.records, valid: reader.valid, invalid: reader.invalid });
      return !reader.fatal;
    });
    reader.end();
    stage.report('reading', { done: size, records: reader.records, valid: reader.valid, invalid: reader.invalid });
  } finally {
    closeSync(fd);
    stage.staging.close();
  }
  const report: ImportReport = {
    source: job.fileName,
    container: reader.container,
    format: reader.format,
    bytes: reader.bytes,
    // Every record read, good or bad: the reader does not count a line it refuses before parsing it (one too long).
    records: Math.max(reader.records, reader.valid + stage.badRecords),
    valid: reader.valid,
    invalid: reader.invalid,
    errors: stage.errors,
  };
  const refusal = refusalOf(report, reader.fatal, job.skipInvalid);
  if (refusal) return { status: 'refused', reason: refusal, report };
  stage.report('saving', {});
  const name = job.fileName.replace(/\.(jsonl|json|ndjson)$/i, '') || job.fileName;
  const meta = stage.meta({
    defaultName: name,
    source: 'file',
    sourceFile: job.fileName,
    container: reader.container,
    format: reader.format,
    contentHash,
    report,
    filters: null,
  });
  const committed = commitStaged(db, repo, job.stagingFile, meta);
  return committed.status === 'imported' ? { ...committed, report } : committed;
}

/** Why a file is not imported, or null when it is. */
function refusalOf(report: ImportReport, fatal: boolean, skipInvalid: boolean): string | null {
  const bad = `${report.invalid} bad record${report.invalid === 1 ? '' : 's'}`;
  if (fatal) return `The file cannot be read as a dataset (${report.errors.at(-1)?.message ?? 'unreadable'}); nothing was imported.`;
  if (report.valid === 0) return report.records === 0 ? 'The file has no examples; nothing was imported.' : `No record is valid (${bad}); nothing was imported.`;
  if (report.invalid > 0 && !skipInvalid) {
    return `${bad} of ${report.records}: nothing was imported. Fix them, or import only the valid records (skip invalid).`;
  }
  return null;
}

function hashFile(fd: number, size: number, stage: Stage): string {
  const hash = createHash('sha256');
  stage.report('checking', { done: 0, total: size });
  readChunks(fd, size, (chunk, done) => {
    hash.update(chunk);
    stage.report('checking', { done });
    return true;
  });
  return hash.digest('hex');
}

/** Reads the file from the start in chunks; `each` returns false to stop. */
function readChunks(fd: number, size: number, each: (chunk: Uint8Array, done: number) => boolean): void {
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  for (let position = 0; position < size; ) {
    const n = readSync(fd, buffer, 0, Math.min(CHUNK_BYTES, size - position), position);
    if (n === 0) break; // the file shrank while being read
    position += n;
    if (!each(buffer.subarray(0, n), position)) return;
  }
}

function buildFromFeedback(db: Db, job: FeedbackJob, stage: Stage): ImportOutcome {
  const learning = new LearningRepo(db);
  const repo = new DatasetRepo(db);
  const { filters } = job;
  const filter = { minReward: job.minReward, kind: filters.kind ?? null, from: filters.from ?? null, to: filters.to ?? null };
  const contentHash = createHash('sha256');
  let count = 0;
  // One read transaction: a consistent snapshot while feedback keeps arriving.
  db.transaction(() => {
    const total = learning.countFiltered(filter);
    stage.report('reading', { done: 0, total });
    for (const example of learning.iterateFiltered(filter)) {
      const record: DatasetRecord = { prompt: example.prompt, input: '', completion: example.completion, context: [], kind: example.kind };
      stage.add(example.artifactId, record);
      contentHash.update(identityText(record)).update('\n');
      if (++count % FEEDBACK_PROGRESS_EVERY === 0) stage.report('reading', { done: count, records: count, valid: count });
    }
  })();
  stage.staging.close();
  const report: ImportReport = { source: 'feedback', container: null, format: null, bytes: 0, records: count, valid: count, invalid: 0, errors: [] };
  if (count === 0) return { status: 'refused', reason: 'No eligible training example matches these filters; nothing was stored.', report };
  stage.report('saving', { done: count, records: count, valid: count });
  const day = job.now.slice(0, 16).replace('T', ' ');
  const meta = stage.meta({
    defaultName: `Feedback${filters.kind ? ` (${filters.kind})` : ''} ${day}`,
    source: 'feedback',
    sourceFile: null,
    container: null,
    format: null,
    contentHash: contentHash.digest('hex'),
    report: null,
    filters,
  });
  const committed = commitStaged(db, repo, job.stagingFile, meta);
  return committed.status === 'imported' ? { ...committed, report } : committed;
}
