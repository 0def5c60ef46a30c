import { resolve } from 'node:path';
import { exportDataset } from '../../electron/core/datasets/export';
import { exportExamples, exportFeedbackEvents, writeFileAtomically } from '../../electron/core/feedbackExport';
import type { LineSink } from '../../electron/core/feedbackExport';
import { DatasetFormat } from '../../shared/contract/datasets';
import { defineCommand, UsageError } from './command';
import { exportVersionCommand } from './versions';
import { withCore } from './withCore';

export const exportCommand = defineCommand({
  name: 'export',
  summary:
    "Export feedback events (feedback_events.jsonl), eligible training examples (prompt/completion JSONL), a dataset as JSONL in one of three shapes, or a trained version as GGUF (its adapter, or --merged into its base).",
  positionals: { usage: 'feedback | examples | dataset NAME | VERSION', min: 1, max: 2 },
  options: {
    out: { type: 'string', placeholder: 'FILE', description: 'write to FILE (whole or not at all) instead of standard output' },
    format: { type: 'string', placeholder: 'F', description: 'dataset: prompt-completion (default), messages or alpaca' },
    merged: { type: 'boolean', description: 'VERSION: merge the adapter into its base (a standalone GGUF for llama.cpp, LM Studio, Jan, Ollama)' },
    model: { type: 'string', placeholder: 'ID', description: 'VERSION: the base model, to pick vN among several' },
  },
  async run(values, [what, name]) {
    if (what !== undefined && /^(v?[1-9]\d*)$/.test(what)) {
      if (name !== undefined) throw new UsageError(`unexpected argument '${name}'`);
      return withCore(values['data-dir'], (core) => exportVersionCommand(core, what, values));
    }
    if (values.merged || values.model !== undefined) throw new UsageError('--merged and --model go with VERSION');
    if (what !== 'feedback' && what !== 'examples' && what !== 'dataset') throw new UsageError(`expected feedback, examples, dataset NAME or VERSION (vN or a version id), got '${what}'`);
    if (what === 'dataset' && name === undefined) throw new UsageError('expected dataset NAME');
    if (what !== 'dataset' && name !== undefined) throw new UsageError(`unexpected argument '${name}'`);
    if (what !== 'dataset' && values.format !== undefined) throw new UsageError('--format goes with dataset NAME');
    const format = DatasetFormat.safeParse(values.format ?? 'prompt-completion');
    if (!format.success) throw new UsageError(`--format must be ${DatasetFormat.options.join(', ')}, got '${values.format}'`);
    return withCore(values['data-dir'], async (core) => {
      const { store, learning, datasets } = core.services;
      const dataset = what === 'dataset' ? datasets.find(name!) : undefined;
      const produce = (sink: LineSink) =>
        dataset
          ? exportDataset(store, dataset.id, format.data, sink)
          : what === 'feedback'
            ? exportFeedbackEvents(store, sink)
            : exportExamples(store, learning.state().minRewardThreshold, sink);
      if (values.out === undefined) {
        produce((chunk) => void process.stdout.write(chunk));
        return 0;
      }
      const file = resolve(values.out);
      const count = writeFileAtomically(file, produce);
      console.error(`Wrote ${count} ${what === 'feedback' ? 'feedback events' : dataset ? `examples of "${dataset.name}" (${format.data})` : 'training examples'} to ${file}`);
      return 0;
    });
  },
});
