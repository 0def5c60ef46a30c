import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { gpuOption } from '../../electron/core/llama';
import { scoreText } from '../../electron/trainer/perplexity';
import type { PerplexityResult } from '../../electron/trainer/perplexity';
import { defineCommand, UsageError } from './command';
import { positiveInt, printJson, regularFile, textFrom } from './withCore';

export const perplexity = defineCommand({
  name: 'perplexity',
  summary: 'Score a text under a GGUF model (and LoRA adapter): per-token log-probabilities and perplexity.',
  options: {
    model: { type: 'string', placeholder: 'FILE', description: 'base model, GGUF (llama architecture)' },
    adapter: { type: 'string', placeholder: 'FILE', description: 'LoRA adapter, GGUF (optional)' },
    text: { type: 'string', placeholder: 'TEXT', description: 'the text to score' },
    file: { type: 'string', placeholder: 'FILE', description: 'read the text from a file instead' },
    threads: { type: 'string', placeholder: 'N', description: 'CPU threads (default: all cores)' },
    json: { type: 'boolean', description: 'print JSON for machines' },
  },
  async run(values) {
    if (!values.model) throw new UsageError('--model FILE is required');
    // llama.cpp opens these itself, and would wait for good on a FIFO: only regular files go to it.
    const modelPath = regularFile(values.model, '--model');
    const adapterPath = values.adapter ? regularFile(values.adapter, '--adapter') : undefined;
    const text = textFrom(values, 'text', 'file');
    const threads = values.threads === undefined ? undefined : positiveInt(values.threads, '--threads');
    const { gpu, notice } = await gpuOption('auto');
    if (notice) process.stderr.write(`${notice}\n`);
    const llama = await getLlama({ gpu, build: 'never', logLevel: LlamaLogLevel.error });
    try {
      const result = await scoreText(llama, {
        modelPath,
        text,
        ...(adapterPath ? { adapterPath } : {}),
        ...(threads ? { threads } : {}),
      });
      if (values.json) printJson(result);
      else process.stdout.write(describe(result));
      return 0;
    } finally {
      await llama.dispose();
    }
  },
});

function describe(r: PerplexityResult): string {
  const rows = r.tokens.map((t) => `  ${JSON.stringify(t.text).padEnd(24)} ${t.logProb.toFixed(4).padStart(10)}`);
  return [
    `Model       ${r.model.path} (${r.model.weightType}, on ${r.model.device})`,
    `Adapter     ${r.adapter ?? 'none'}`,
    `Tokens      ${r.tokens.length} scored`,
    `Perplexity  ${r.perplexity.toFixed(3)} (mean log-probability ${r.meanLogProb.toFixed(4)})`,
    '',
    `  ${'token'.padEnd(24)} ${'log p'.padStart(10)}`,
    ...rows,
    '',
  ].join('\n');
}
