import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { readExamplesFile } from '../../electron/core/datasets/readFile';
import { finetune } from '../../electron/trainer/engine';
import { gpuOption } from '../../electron/core/llama';
import type { FinetuneResult, StepProgress } from '../../electron/trainer/engine';
import { DEFAULT_TARGETS, LoraTarget, TrainingConfig } from '../../shared/training/config';
import { formatBytes } from '../../shared/format';
import { trainingExamples } from '../../electron/core/datasets/training';
import { byKind, loadPromptTemplates } from '../../electron/core/prompts/templates';
import { defineCommand, UsageError } from './command';
import { decimalNumber, regularFile, withCore } from './withCore';
import { AppError } from '../../shared/errors';

/** Command-line flag → training config key. */
const FLAGS = {
  epochs: 'epochs',
  lr: 'learningRate',
  'batch-size': 'batchSize',
  'grad-accum': 'gradAccum',
  rank: 'rank',
  alpha: 'alpha',
  dropout: 'dropout',
  'max-length': 'maxLength',
  'val-split': 'valSplit',
  warmup: 'warmup',
  'weight-decay': 'weightDecay',
  clip: 'clip',
  'eval-every': 'evalEvery',
  'checkpoint-every': 'checkpointEvery',
  seed: 'seed',
  threads: 'threads',
} as const;

export const finetuneCommand = defineCommand({
  name: 'finetune',
  summary: 'Train a LoRA adapter on a JSONL file of examples: {"prompt", "completion"}, chat "messages" or Alpaca (CPU or GPU).',
  options: {
    model: { type: 'string', placeholder: 'FILE', description: 'base model, GGUF (llama architecture)' },
    data: { type: 'string', placeholder: 'FILE', description: 'training examples: JSONL (or a JSON array) of prompt/completion, messages or Alpaca records' },
    dataset: { type: 'string', placeholder: 'NAME', description: 'train on a stored dataset (architect datasets) with its own train/validation split' },
    out: { type: 'string', placeholder: 'FILE', description: 'where to write the adapter (GGUF)' },
    epochs: { type: 'string', placeholder: 'N', description: 'passes over the data (default 3)' },
    lr: { type: 'string', placeholder: 'X', description: 'peak learning rate (default 2e-4)' },
    'batch-size': { type: 'string', placeholder: 'N', description: 'examples per micro-batch (default 1)' },
    'grad-accum': { type: 'string', placeholder: 'N', description: 'micro-batches per optimizer step (default 1)' },
    rank: { type: 'string', placeholder: 'R', description: 'LoRA rank (default 8)' },
    alpha: { type: 'string', placeholder: 'A', description: 'LoRA alpha; scale = alpha / rank (default 16)' },
    dropout: { type: 'string', placeholder: 'P', description: 'LoRA dropout (default 0.05)' },
    targets: { type: 'string', placeholder: 'LIST', description: `modules, comma-separated: ${LoraTarget.options.join(', ')} (default ${DEFAULT_TARGETS.join(',')})` },
    'max-length': { type: 'string', placeholder: 'N', description: 'tokens per example; longer ones are cut (default 512)' },
    'val-split': { type: 'string', placeholder: 'F', description: 'share held out for validation loss (default 0.1)' },
    schedule: { type: 'string', placeholder: 'S', description: 'constant, linear or cosine (default cosine)' },
    warmup: { type: 'string', placeholder: 'N', description: 'warm-up steps (default 0)' },
    'weight-decay': { type: 'string', placeholder: 'X', description: 'AdamW weight decay (default 0)' },
    clip: { type: 'string', placeholder: 'X', description: 'max gradient norm, 0 = off (default 1)' },
    'grad-checkpointing': { type: 'boolean', description: 'recompute activations in the backward pass: less memory, ~1/3 slower' },
    'eval-every': { type: 'string', placeholder: 'N', description: 'validation every N steps too (default: epoch ends)' },
    'checkpoint-every': { type: 'string', placeholder: 'N', description: 'checkpoint every N steps too (default: at the end)' },
    'checkpoint-dir': { type: 'string', placeholder: 'DIR', description: 'where checkpoints go (default: OUT.checkpoints)' },
    resume: { type: 'string', placeholder: 'CHECKPOINT', description: 'continue exactly from a checkpoint (or the newest in a folder)' },
    'init-adapter': { type: 'string', placeholder: 'FILE', description: 'start from an existing adapter (incremental training)' },
    seed: { type: 'string', placeholder: 'N', description: 'seed for data order, split, init and dropout (default 42)' },
    threads: { type: 'string', placeholder: 'N', description: 'CPU threads (default: all cores)' },
    backend: { type: 'string', placeholder: 'B', description: 'cpu, cuda or auto (default auto)' },
    json: { type: 'boolean', description: 'one JSON line per event on stdout' },
  },
  async run(values) {
    for (const required of ['model', 'out'] as const) {
      if (!values[required]) throw new UsageError(`--${required} is required`);
    }
    if (!values.data === !values.dataset) throw new UsageError('give --data FILE or --dataset NAME (one of them)');
    // llama.cpp and the trainer open these themselves: a FIFO or a device is refused here, by name.
    regularFile(values.model!, '--model');
    if (values['init-adapter']) regularFile(values['init-adapter'], '--init-adapter');
    const config = parseConfig(values);
    const { examples, validationExamples } = values.data ? { examples: readExamples(values.data), validationExamples: undefined } : await storedDataset(values['data-dir'], values.dataset!);
    const controller = new AbortController();
    const emit = values.json ? (event: object) => process.stdout.write(`${JSON.stringify(event)}\n`) : undefined;
    const bar = values.json ? undefined : new ProgressLine();
    const onSigint = () => {
      if (controller.signal.aborted) process.exit(130);
      controller.abort();
      process.stderr.write('\nStopping after this step and writing a checkpoint… (Ctrl-C again to quit at once)\n');
    };
    process.on('SIGINT', onSigint);
    const { gpu, notice } = await gpuOption(config.backend);
    if (notice) process.stderr.write(`${notice}\n`);
    const llama = await getLlama({ gpu, build: 'never', logLevel: LlamaLogLevel.error });
    try {
      const result = await finetune(
        llama,
        {
          modelPath: values.model!,
          examples,
          // Examples of a kind go in its prompt template, as `architect generate` asks them.
          templates: byKind(await loadPromptTemplates(values['data-dir'])),
          outPath: values.out!,
          config,
          ...(validationExamples ? { validationExamples } : {}),
          ...(values['checkpoint-dir'] ? { checkpointDir: values['checkpoint-dir'] } : {}),
          ...(values.resume ? { resumeFrom: values.resume } : {}),
          ...(values['init-adapter'] ? { initAdapter: values['init-adapter'] } : {}),
        },
        {
          onPrepared: (info) => {
            emit?.({ type: 'prepared', ...info });
            if (bar) {
              process.stderr.write(
                `Training on ${info.device}: ${info.train} examples (${info.validation} for validation), ${info.totalSteps} steps, ` +
                  `LoRA rank ${info.adapter.rank} on ${info.adapter.targets.join(', ')} (${info.adapter.parameters.toLocaleString('en')} parameters)\n`,
              );
              if (info.truncated) process.stderr.write(`${info.truncated} examples were longer than max length and were cut (${info.dropped} dropped).\n`);
              if (info.startStep) process.stderr.write(`Resuming at step ${info.startStep}.\n`);
            }
          },
          onProgress: (p) => (emit ? emit({ type: 'step', ...p }) : bar!.update(p)),
          onValidation: (v) => (emit ? emit({ type: 'validation', ...v }) : bar!.note(`validation loss ${v.loss.toFixed(4)} at step ${v.step}`)),
          onCheckpoint: (c) => (emit ? emit({ type: 'checkpoint', ...c }) : bar!.note(`checkpoint ${c.path}`)),
        },
        controller.signal,
      );
      emit?.({ type: 'done', ...result });
      if (bar) report(result, values);
      return result.status === 'completed' ? 0 : 130;
    } finally {
      process.off('SIGINT', onSigint);
      bar?.end();
      await llama.dispose();
    }
  },
});

export function parseConfig(values: Record<string, unknown>): TrainingConfig {
  const input: Record<string, unknown> = {};
  for (const [flag, key] of Object.entries(FLAGS)) {
    const raw = values[flag];
    if (raw === undefined) continue;
    input[key] = decimalNumber(raw, `--${flag}`);
  }
  if (typeof values.targets === 'string') input.targets = values.targets.split(',').map((t) => t.trim()).filter(Boolean);
  if (typeof values.schedule === 'string') input.schedule = values.schedule;
  if (typeof values.backend === 'string') input.backend = values.backend;
  if (values['grad-checkpointing']) input.gradientCheckpointing = true;
  const parsed = TrainingConfig.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const key = String(issue.path[0]);
  const flag = Object.entries(FLAGS).find(([, k]) => k === key)?.[0] ?? (key === 'gradientCheckpointing' ? 'grad-checkpointing' : key);
  const given = issue.path.length > 1 ? ` (item ${Number(issue.path[1]) + 1})` : '';
  throw new UsageError(`--${flag}${given}: ${issue.message}`);
}

/** A stored dataset's examples, split as stored. */
async function storedDataset(dataDir: string, name: string) {
  return withCore(dataDir, async (core) => {
    const dataset = core.services.datasets.find(name);
    const { train, validation } = trainingExamples(core.services.store, dataset.id);
    if (train.length === 0) throw new UsageError(`dataset "${dataset.name}" has no training examples`);
    return { examples: train, validationExamples: validation };
  });
}

function readExamples(path: string) {
  let read: ReturnType<typeof readExamplesFile>;
  try {
    read = readExamplesFile(path, { field: '--data' });
  } catch (error) {
    throw new UsageError(error instanceof AppError ? `--data: ${error.message}` : `cannot read --data ${path}: ${String(error)}`);
  }
  const { examples, errors } = read;
  if (errors.length) {
    const shown = errors.slice(0, 20).map((e) => (e.line ? `${path}:${e.line}: ${e.message}` : `${path}: ${e.message}`));
    const more = errors.length > 20 ? `\n… and ${errors.length - 20} more` : '';
    throw new Error(`the data file has ${errors.length} bad line${errors.length === 1 ? '' : 's'}; nothing was trained:\n${shown.join('\n')}${more}`);
  }
  return examples;
}

function report(result: FinetuneResult, values: Record<string, unknown>): void {
  const lines =
    result.status === 'completed'
      ? [`Adapter written to ${result.adapterPath}`, `Checkpoints in ${result.checkpointDir}`]
      : [
          `Stopped after step ${result.steps}. Checkpoint: ${result.lastCheckpoint}`,
          `Continue with: architect finetune --model ${String(values.model)} ${values.data ? `--data ${String(values.data)}` : `--dataset ${String(values.dataset)}`} --out ${String(values.out)} --resume ${result.lastCheckpoint}`,
        ];
  if (result.trainLoss !== null) lines.push(`Last train loss ${result.trainLoss.toFixed(4)}${result.validationLoss !== null ? `, validation loss ${result.validationLoss.toFixed(4)}` : ''}`);
  process.stderr.write(`${lines.join('\n')}\n`);
}

/** One progress line, redrawn in place on a terminal and printed per step elsewhere. */
class ProgressLine {
  private readonly tty = process.stderr.isTTY === true;
  private drawn = false;

  update(p: StepProgress): void {
    const width = 24;
    const filled = Math.round((p.step / p.totalSteps) * width);
    const line =
      `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] step ${p.step}/${p.totalSteps} epoch ${p.epoch.toFixed(2)} ` +
      `loss ${p.trainLoss.toFixed(4)} lr ${p.learningRate.toExponential(2)} ${Math.round(p.tokensPerSecond)} tok/s ` +
      `ETA ${formatDuration(p.etaMs)} mem ${formatBytes(p.memoryBytes)}`;
    if (this.tty) {
      process.stderr.write(`\r\x1b[K${line}`);
      this.drawn = true;
    } else {
      process.stderr.write(`${line}\n`);
    }
  }

  note(text: string): void {
    if (this.drawn) process.stderr.write('\n');
    this.drawn = false;
    process.stderr.write(`${text}\n`);
  }

  end(): void {
    if (this.drawn) process.stderr.write('\n');
    this.drawn = false;
  }
}

function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
