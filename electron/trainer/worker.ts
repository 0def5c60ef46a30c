// The trainer child process's entry (built to out/workers/trainer.js), run by the core through ChildHost:
// a forked Node process headless, Electron's utility process in the app. It loads node-llama-cpp and the
// native trainer, says `ready`, runs the one job it is given (shared/training/protocol.ts), then exits 0.
// Usage: trainer.js [--backend auto|cuda|cpu] (default auto: the backend node-llama-cpp picks). The supervisor
// passes the job's backend resolved with the app's backend setting (training/plan.ts jobBackend).
import type { Llama } from 'node-llama-cpp';
import { AppError, toWireError } from '../../shared/errors';
import { TrainerRequest } from '../../shared/training/protocol';
import type { TrainerJob, TrainerMessage } from '../../shared/training/protocol';
import type { PromptCompletion } from '../../shared/training/examples';
import { readExamplesFile } from '../core/datasets/readFile';
import { loadLlama } from '../core/llama';
import { byKind, loadPromptTemplates } from '../core/prompts/templates';
import { Trainer } from '../../native/index';
import { finetune } from './engine';
import { measureGate } from './gate';
import { childEnd, parentChannel } from './parentChannel';

const parent = parentChannel<TrainerMessage>('trainer');
process.setSourceMapsEnabled(true);
const log = (level: 'info' | 'warn' | 'error', text: string) => parent.send({ type: 'log', level, text });

const { exit, fail } = childEnd(parent, (error) => ({ type: 'error' as const, error: toWireError(error) }));

function backendArg(): 'auto' | 'cuda' | 'cpu' {
  const i = process.argv.indexOf('--backend');
  const value = i >= 0 ? process.argv[i + 1] : 'auto';
  if (value === 'auto' || value === 'cuda' || value === 'cpu') return value;
  throw new AppError('invalid_arguments', `--backend must be auto, cuda or cpu, got '${value}'`);
}

async function load(): Promise<{ llama: Llama; trainer: Trainer }> {
  const { llama, notice } = await loadLlama(backendArg());
  if (notice) log('warn', notice);
  // Loads the addon for node-llama-cpp's libraries: a trainer that cannot load fails here, before `ready`.
  return { llama, trainer: Trainer.forLlama(llama) };
}

function readExamples(path: string, what: string): PromptCompletion[] {
  let read: ReturnType<typeof readExamplesFile>;
  try {
    read = readExamplesFile(path);
  } catch (error) {
    throw new AppError('invalid_arguments', `cannot read the ${what} ${path}: ${error instanceof AppError ? error.message : ((error as NodeJS.ErrnoException).code ?? String(error))}`);
  }
  const { examples, errors } = read;
  if (errors.length) {
    const shown = errors.slice(0, 20).map((e) => (e.line ? `${path}:${e.line}: ${e.message}` : `${path}: ${e.message}`));
    const more = errors.length > 20 ? `\n… and ${errors.length - 20} more` : '';
    throw new AppError('invalid_arguments', `The ${what} have ${errors.length} bad line${errors.length === 1 ? '' : 's'}; nothing was trained:\n${shown.join('\n')}${more}`);
  }
  return examples;
}

const stopping = new AbortController();
let running = false;

async function run(llama: Llama, job: TrainerJob): Promise<void> {
  const examples = readExamples(job.examplesFile, 'training examples');
  const validationExamples = job.validationFile ? readExamples(job.validationFile, 'validation examples') : undefined;
  const templates = byKind(await loadPromptTemplates(job.dataDir));
  try {
    const result = await finetune(
      llama,
      {
        modelPath: job.modelPath,
        examples,
        templates,
        outPath: job.outPath,
        config: job.config,
        checkpointDir: job.checkpointDir,
        ...(validationExamples ? { validationExamples } : {}),
        ...(job.resumeFrom ? { resumeFrom: job.resumeFrom } : {}),
        ...(job.initAdapter ? { initAdapter: job.initAdapter } : {}),
      },
      {
        onPrepared: (info) => parent.send({ type: 'prepared', info }),
        onProgress: (progress) => parent.send({ type: 'progress', progress }),
        onValidation: (v) => parent.send({ type: 'validation', ...v }),
        onCheckpoint: (c) => parent.send({ type: 'checkpoint', ...c }),
      },
      stopping.signal,
    );
    if (result.status === 'completed' && job.gate && !stopping.signal.aborted) {
      // The gate's failure leaves the version a candidate without a verdict; the training itself succeeded.
      try {
        const gate = await measureGate(llama, {
          modelPath: job.modelPath,
          candidate: job.outPath,
          against: job.gate.against,
          examples: readExamples(job.gate.examplesFile, 'held-out examples'),
          templates,
          maxLength: job.config.maxLength,
          prompts: job.gate.prompts,
          maxTokens: job.gate.maxTokens,
          ...(job.config.threads ? { threads: job.config.threads } : {}),
          signal: stopping.signal,
          log: (text) => log('info', text),
        });
        parent.send({ type: 'gate', gate });
      } catch (error) {
        log('error', `the evaluation gate could not run: ${(error as Error).message}`);
      }
    }
    parent.send({ type: 'done', result });
  } catch (error) {
    // A stop while the model loads: nothing was trained, and there is no checkpoint to name.
    if (stopping.signal.aborted && (error as Error).name === 'AbortError') {
      throw new AppError('cancelled', 'The training was stopped before its first step; nothing was trained.');
    }
    throw error;
  }
}

const loaded = load();

parent.onMessage((raw) => {
  const parsed = TrainerRequest.safeParse(raw);
  if (!parsed.success) return log('error', `ignored a malformed request: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const request = parsed.data;
  if (request.type === 'stop') {
    stopping.abort();
    if (!running) void exit(0);
    return;
  }
  if (running || stopping.signal.aborted) return log('warn', 'ignored a second start: this process runs one job');
  running = true;
  // The job's own failure is an answer (`error`), not a crash: exit 0 after it.
  void loaded
    .then(({ llama }) => run(llama, request.job))
    .catch((error: unknown) => parent.send({ type: 'error', error: toWireError(error) }))
    .then(() => exit(0));
});

// The parent went away (it crashed or was killed): stop at the next step, which writes a checkpoint.
process.on('disconnect', () => {
  stopping.abort();
  if (!running) void exit(0);
});

loaded.then(({ trainer }) => parent.send({ type: 'ready', pid: process.pid, device: trainer.variant }), fail);
