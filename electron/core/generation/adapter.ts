import { stat } from 'node:fs/promises';
import { readGgufFileInfo } from 'node-llama-cpp';
import type { GgufFileInfo } from 'node-llama-cpp';
import { AppError } from '../../../shared/errors';

const FIELD = 'args.model.adapterPath';

async function header(path: string, what: string, field: string): Promise<GgufFileInfo> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new AppError('not_found', `The ${what} ${path} does not exist. Check the path, or choose the plain base.`, { field });
  if (!info.isFile()) throw new AppError('invalid_arguments', `The ${what} ${path} is not a regular file.`, { field });
  try {
    return await readGgufFileInfo(path, { sourceType: 'filesystem', logWarnings: false, ignoreKeys: ['tokenizer.ggml.tokens', 'tokenizer.ggml.scores', 'tokenizer.ggml.token_type', 'tokenizer.ggml.merges'] });
  } catch (error) {
    throw new AppError('invalid_arguments', `The ${what} ${path} is not a GGUF file: ${(error as Error).message}`, { field });
  }
}

const dims = (d: readonly (number | bigint)[]) => d.map(Number);

/**
 * Refuses an adapter that node-llama-cpp would load onto the wrong base: not a LoRA GGUF, another
 * architecture, or a LoRA tensor whose shape does not match the base tensor it adapts (another model
 * size). llama.cpp itself would fail later, or worse, abort, so this is checked before loading.
 */
export async function checkAdapter(adapterPath: string, basePath: string): Promise<void> {
  const adapter = await header(adapterPath, 'adapter', FIELD);
  const meta = adapter.metadata as unknown as Record<string, Record<string, unknown>>;
  const general = meta.general ?? {};
  const adapterMeta = meta.adapter ?? {};
  if (general.type !== 'adapter' || adapterMeta.type !== 'lora') {
    throw new AppError('invalid_arguments', `${adapterPath} is a GGUF file but no LoRA adapter (general.type is "${String(general.type)}"). Choose an adapter file, or the plain base.`, { field: FIELD });
  }
  const base = await header(basePath, 'model file', 'args.model.modelId');
  const baseArch = String((base.metadata as unknown as { general?: { architecture?: unknown } }).general?.architecture);
  if (general.architecture !== baseArch) {
    throw new AppError('invalid_arguments', `${adapterPath} is an adapter for architecture "${String(general.architecture)}", the base model is "${baseArch}": it was made for another base model.`, { field: FIELD });
  }
  const baseTensors = new Map((base.fullTensorInfo ?? base.tensorInfo ?? []).map((t) => [t.name, dims(t.dimensions)]));
  let pairs = 0;
  for (const tensor of adapter.fullTensorInfo ?? adapter.tensorInfo ?? []) {
    const match = /^(.*)\.lora_([ab])$/.exec(tensor.name);
    if (!match) continue;
    const [, target, side] = match;
    const weight = baseTensors.get(target!);
    const shape = dims(tensor.dimensions);
    // ggml order: a base weight is [in, out]; lora_a is [in, rank], lora_b is [rank, out].
    const fits = weight && (side === 'a' ? shape[0] === weight[0] : shape[1] === weight[1]);
    if (!fits) {
      const why = weight ? `${tensor.name} is ${shape.join('×')} but the base's ${target} is ${weight.join('×')}` : `the base has no tensor ${target}`;
      throw new AppError('invalid_arguments', `${adapterPath} was made for another base model: ${why}. Choose an adapter trained on this model.`, { field: FIELD });
    }
    pairs++;
  }
  if (pairs === 0) throw new AppError('invalid_arguments', `${adapterPath} holds no LoRA tensors.`, { field: FIELD });
}
