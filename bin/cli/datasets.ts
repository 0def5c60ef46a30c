import type { ImportOutcome, ImportProgress } from '../../shared/contract/datasets';
import { ArtifactKind } from '../../shared/contract/validation';
import { AppError } from '../../shared/errors';
import { defineCommand, UsageError } from './command';
import { describeDetail, describeList, describeOutcome, describeProgress } from './describeDatasets';
import { decimalInt, decimalNumber, printJson, withCore } from './withCore';

/** Options every import or build takes: how examples are stored. */
const STORE_OPTIONS = {
  name: { type: 'string', placeholder: 'N', description: 'the dataset name (default: the file name / "Feedback DATE")' },
  'drop-duplicates': { type: 'boolean', description: 'leave out examples already in this file or in another dataset (default: only count them)' },
  'validation-share': { type: 'string', placeholder: 'F', description: 'share held out for validation, 0–0.5 (default 0.1)' },
  seed: { type: 'string', placeholder: 'N', description: 'seed of the train/validation split (default 42)' },
  tokenizer: { type: 'string', placeholder: 'FILE', description: "count tokens with this GGUF model's tokenizer (default: the datasets setting)" },
  json: { type: 'boolean', description: 'print the outcome as JSON' },
} as const;

function storeArgs(values: Record<string, unknown>) {
  const validationShare = values['validation-share'] === undefined ? undefined : decimalNumber(values['validation-share'], '--validation-share');
  if (validationShare !== undefined && !(validationShare >= 0 && validationShare <= 0.5)) {
    throw new UsageError(`--validation-share must be from 0 to 0.5: ${String(values['validation-share'])} is out of range`);
  }
  const seed = values.seed === undefined ? undefined : decimalInt(String(values.seed), '--seed', 0, 2 ** 31 - 1);
  return {
    ...(typeof values.name === 'string' ? { name: values.name } : {}),
    ...(values['drop-duplicates'] ? { dropDuplicates: true } : {}),
    ...(validationShare !== undefined ? { validationShare } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(typeof values.tokenizer === 'string' ? { tokenizerModel: values.tokenizer } : {}),
  };
}

/**
 * Runs an import or a build with progress on standard error (redrawn on a terminal, a line per 10%
 * elsewhere) and Ctrl-C to cancel; prints the outcome. Exit code 0 imported or already there, 1 refused,
 * 130 cancelled.
 */
async function runJob(values: { json?: boolean }, path: string, start: (signal: AbortSignal, onProgress: (p: ImportProgress) => void) => Promise<ImportOutcome>): Promise<number> {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
    process.stderr.write('\nCancelling… (Ctrl-C again to quit at once)\n');
  };
  process.on('SIGINT', onSigint);
  const progress = new ProgressReporter();
  try {
    const outcome = await start(controller.signal, (p) => progress.update(p));
    progress.end();
    if (values.json) printJson(outcome);
    const text = describeOutcome(outcome, path);
    if (outcome.status === 'refused') {
      if (!values.json) process.stderr.write(`${text}\n`);
      return 1;
    }
    if (!values.json) console.log(text);
    return 0;
  } catch (error) {
    progress.end();
    if (error instanceof AppError && error.code === 'cancelled') {
      process.stderr.write(`${error.message}\n`);
      return 130;
    }
    throw error;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

class ProgressReporter {
  private readonly tty = process.stderr.isTTY === true;
  private drawn = false;
  private last = '';

  update(p: ImportProgress): void {
    if (this.tty) {
      process.stderr.write(`\r\x1b[K${describeProgress(p)}`);
      this.drawn = true;
      return;
    }
    // Elsewhere (a log, a pipe): the reading phase by tenths, the others once.
    const step = p.phase === 'reading' && p.total > 0 ? `${p.phase} ${Math.floor((p.done / p.total) * 10)}` : p.phase;
    if (step === this.last || p.phase === 'checking') return;
    this.last = step;
    process.stderr.write(`${describeProgress(p)}\n`);
  }

  end(): void {
    if (this.drawn) process.stderr.write('\r\x1b[K');
    this.drawn = false;
  }
}

export const importCommand = defineCommand({
  name: 'import',
  summary:
    'Import a dataset file: JSONL (or a JSON array) of {"prompt","completion"}, chat {"messages"} or Alpaca records. A file with a bad record is refused whole, with every bad line listed.',
  positionals: { usage: 'FILE', min: 1, max: 1 },
  options: {
    'skip-invalid': { type: 'boolean', description: 'import the valid records and keep the report of the bad ones' },
    ...STORE_OPTIONS,
  },
  async run(values, [file]) {
    const args = { ...storeArgs(values), ...(values['skip-invalid'] ? { skipInvalid: true } : {}) };
    return withCore(values['data-dir'], (core) =>
      runJob(values, file!, (signal, onProgress) => core.services.datasets.importFile(file!, args, { signal, onProgress })),
    );
  },
});

export const datasetsCommand = defineCommand({
  name: 'datasets',
  summary: 'List the datasets with their examples, split, tokens and duplicates.',
  options: { json: { type: 'boolean', description: 'print JSON for machines' } },
  async run(values) {
    return withCore(values['data-dir'], async (core) => {
      const list = await core.connect().api.datasets.list({});
      if (values.json) printJson(list);
      else console.log(describeList(list));
      return 0;
    });
  },
});

export const datasetCommand = defineCommand({
  name: 'dataset',
  summary: 'Build a dataset from feedback (eligible examples; corrections give the corrected text), or show, rename or delete one.',
  positionals: { usage: 'build --from-feedback | show NAME | rename NAME NEW | delete NAME', min: 1, max: 3 },
  options: {
    'from-feedback': { type: 'boolean', description: 'build: from the eligible training examples' },
    kind: { type: 'string', placeholder: 'K', description: 'build: only artifacts of this kind' },
    'min-reward': { type: 'string', placeholder: 'X', description: 'build: at least this reward (default: the learning threshold)' },
    from: { type: 'string', placeholder: 'DATE', description: 'build: artifacts created at or after DATE (ISO 8601)' },
    to: { type: 'string', placeholder: 'DATE', description: 'build: artifacts created before DATE (ISO 8601)' },
    ...STORE_OPTIONS,
  },
  async run(values, [action, name, extra]) {
    const expect = (n: number) => {
      const given = [name, extra].filter((x) => x !== undefined).length;
      if (given !== n) throw new UsageError(`${action} takes ${n === 0 ? 'no argument' : n === 1 ? 'NAME' : 'NAME NEW'}`);
    };
    if (action === 'build') {
      expect(0);
      if (!values['from-feedback']) throw new UsageError('build needs --from-feedback (the only source so far)');
      const kind = values.kind === undefined ? undefined : ArtifactKind.safeParse(values.kind).data;
      if (values.kind !== undefined && !kind) throw new UsageError(`--kind must be one of ${ArtifactKind.options.join(', ')}, got '${values.kind}'`);
      const minReward = values['min-reward'] === undefined ? undefined : decimalNumber(values['min-reward'], '--min-reward');
      if (minReward !== undefined && !(minReward >= -1 && minReward <= 1)) throw new UsageError(`--min-reward must be from -1 to 1: ${values['min-reward']} is out of range`);
      const filters = {
        ...(kind ? { kind } : {}),
        ...(minReward !== undefined ? { minReward } : {}),
        ...(values.from !== undefined ? { from: isoDate(values.from, 'from') } : {}),
        ...(values.to !== undefined ? { to: isoDate(values.to, 'to') } : {}),
      };
      return withCore(values['data-dir'], (core) =>
        runJob(values, 'feedback', (signal, onProgress) =>
          core.services.datasets.buildFromFeedback({ ...storeArgs(values), filters }, { signal, onProgress }),
        ),
      );
    }
    if (!['show', 'rename', 'delete'].includes(action!)) throw new UsageError(`expected build, show, rename or delete, got '${action}'`);
    expect(action === 'rename' ? 2 : 1);
    return withCore(values['data-dir'], async (core) => {
      const { datasets } = core.services;
      const { api } = core.connect();
      const { id } = datasets.find(name!);
      if (action === 'show') {
        const detail = await api.datasets.get({ id });
        if (values.json) printJson(detail);
        else console.log(describeDetail(detail));
      } else if (action === 'rename') {
        const renamed = await api.datasets.rename({ id, name: extra! });
        if (values.json) printJson(renamed);
        else console.log(`Renamed dataset ${id} to "${renamed.name}".`);
      } else {
        await api.datasets.delete({ id });
        if (values.json) printJson({ deleted: id });
        else console.log(`Deleted dataset "${name}" (id ${id}).`);
      }
      return 0;
    });
  },
});

/** A date or time from the command line, as ISO 8601 (a bare date is midnight UTC). */
function isoDate(value: string, flag: string): string {
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw new UsageError(`--${flag} must be a date such as 2026-01-31 or 2026-01-31T12:00:00Z, got '${value}'`);
  return new Date(time).toISOString();
}
