import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { GenerateArgs } from '../../shared/contract/generation';
import type { Core } from '../../electron/core/services';
import { defineCommand, UsageError } from './command';
import { resolveVersion } from './versions';
import { positiveInt, textFrom, withCore } from './withCore';

export const generateCommand = defineCommand({
  name: 'generate',
  summary: 'Generate an artifact with a local model: streams the text to stdout, stores it, prints its id and validation.',
  options: {
    kind: { type: 'string', placeholder: 'K', description: 'erd, flowchart, sequence, api-doc or code' },
    prompt: { type: 'string', placeholder: 'TEXT', description: 'the requirements' },
    'prompt-file': { type: 'string', placeholder: 'FILE', description: 'read the requirements from FILE' },
    model: { type: 'string', placeholder: 'ID|FILE', description: "an installed model id, or a GGUF file (imported in place); default: what serves the kind (`architect versions`)" },
    version: { type: 'string', placeholder: 'VERSION|base', description: 'a trained version (vN or its id) of that model, or base (default: what serves the kind)' },
    adapter: { type: 'string', placeholder: 'FILE', description: 'a LoRA adapter GGUF file for --model (instead of a version)' },
    'max-tokens': { type: 'string', placeholder: 'N', description: 'most tokens to write (default: the setting, 1024)' },
    temperature: { type: 'string', placeholder: 'X', description: '0 (greedy) to 2 (default: the setting, 0.2)' },
    'top-p': { type: 'string', placeholder: 'X', description: 'nucleus sampling, above 0 up to 1 (default 0.9)' },
    seed: { type: 'string', placeholder: 'N', description: 'sampling seed (default: a random one, recorded)' },
    threads: { type: 'string', placeholder: 'N', description: 'CPU threads (default: the setting, else all math cores)' },
    json: { type: 'boolean', description: 'one JSON line per chunk, then the result as one JSON line' },
  },
  async run(values) {
    if (values.kind === undefined) throw new UsageError('give --kind K (erd, flowchart, sequence, api-doc or code)');
    const requirements = textFrom(values, 'prompt', 'prompt-file');
    const sampling = {
      ...(values['max-tokens'] !== undefined ? { maxTokens: positiveInt(values['max-tokens'], '--max-tokens') } : {}),
      ...(values.temperature !== undefined ? { temperature: decimal(values.temperature, '--temperature') } : {}),
      ...(values['top-p'] !== undefined ? { topP: decimal(values['top-p'], '--top-p') } : {}),
      ...(values.seed !== undefined ? { seed: wholeNumber(values.seed, '--seed') } : {}),
    };
    if (values.adapter !== undefined && values.version !== undefined) throw new UsageError('give --version or --adapter, not both');
    if (values.adapter !== undefined && values.model === undefined) throw new UsageError('--adapter needs --model ID|FILE: the base it was trained on');
    return withCore(values['data-dir'], async (core) => {
      const model = await pickModel(core, values);
      const api = core.connect();
      const generationId = randomUUID();
      const off = api.on('generation.chunk', (chunk) => {
        if (chunk.generationId !== generationId) return;
        if (values.json) process.stdout.write(`${JSON.stringify({ type: 'chunk', text: chunk.text })}\n`);
        else process.stdout.write(chunk.text);
      });
      const controller = new AbortController();
      const onSigint = () => {
        if (controller.signal.aborted) process.exit(130);
        void api.api.generation.stop({ generationId });
        process.stderr.write('\nStopping; what was written so far is stored.\n');
        controller.abort();
      };
      process.on('SIGINT', onSigint);
      try {
        const args: GenerateArgs = {
          generationId,
          kind: values.kind as never, // checked by the contract, which names the field
          requirements,
          model,
          sampling,
          ...(values.threads !== undefined ? { threads: positiveInt(values.threads, '--threads') } : {}),
        };
        const result = await api.api.generation.generate(args);
        const validation = result.artifact.events.find((e) => e.type === 'validation');
        if (values.json) {
          process.stdout.write(`${JSON.stringify({ type: 'result', ...result })}\n`);
          return 0;
        }
        const g = result.generation;
        process.stdout.write('\n');
        console.log(result.artifact.id);
        console.error(
          `Stored artifact ${result.artifact.id} (${result.artifact.kind}) from ${g.modelName}${g.version ? ` v${g.version.number}` : g.adapter ? ` + ${g.adapter.path}` : ' (base)'}: ` +
            `${g.outputTokens} tokens in ${(g.durationMs / 1000).toFixed(1)} s (${g.tokensPerSecond.toFixed(1)} tokens/s), ended by ${g.finish}.`,
        );
        if (validation) console.error(`Validation ${validation.score}/100: ${validation.reasons.map((r) => `${r.ok ? "✓" : "✗"} ${r.text}`).join('; ')}`);
        else if (result.validationError) console.error(`Not validated: ${result.validationError}`);
        return 0;
      } finally {
        off();
        process.off('SIGINT', onSigint);
      }
    });
  },
});

/** Which model writes: what serves the kind (the registry), or --model with --version, --adapter or nothing (its base). */
async function pickModel(core: Core, values: { model?: string; version?: string; adapter?: string }): Promise<GenerateArgs['model']> {
  if (values.model === undefined && values.version === undefined) return { provider: 'active' };
  const { models } = await core.services.models.list();
  if (values.model === undefined) {
    if (values.version === 'base') throw new UsageError('--version base needs --model ID: which base model');
    const version = await resolveVersion(core, values.version!, undefined);
    if (version.modelId === null) throw new UsageError(`v${version.number}'s base model ${version.baseName} is no longer installed`);
    return { provider: 'local', modelId: version.modelId, versionId: version.id };
  }
  const given = values.model;
  let modelId: number;
  if (/^[1-9]\d*$/.test(given)) {
    if (!models.some((m) => m.id === Number(given))) throw new UsageError(`there is no installed model ${given}; \`architect models\` lists them`);
    modelId = Number(given);
  } else {
    const path = resolve(given);
    if (!statSync(path, { throwIfNoEntry: false })) throw new UsageError(`--model ${given}: no such installed model id or file`);
    const known = models.find((m) => m.path === path);
    modelId = known ? known.id : (await core.services.models.import({ path })).id;
  }
  if (values.adapter !== undefined) return { provider: 'local', modelId, adapterPath: resolve(values.adapter) };
  if (values.version === undefined || values.version === 'base') return { provider: 'local', modelId, versionId: null };
  const version = await resolveVersion(core, values.version, String(modelId));
  return { provider: 'local', modelId, versionId: version.id };
}

function decimal(value: string, flag: string): number {
  if (!/^\d+(\.\d+)?$/.test(value)) throw new UsageError(`${flag} must be a decimal number such as 0.7, got '${value}'`);
  return Number(value);
}

function wholeNumber(value: string, flag: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be a whole number (0 or more), got '${value}'`);
  return Number(value);
}
