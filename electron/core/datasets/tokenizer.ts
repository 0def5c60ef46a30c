import { AppError } from '../../../shared/errors';
import { checkRegularFile } from '../files';

/** A model's tokenizer, for token counts. */
export interface Tokenizer {
  /** Tokens of a text, without special tokens (BOS) or a chat template. */
  count(text: string): number;
  dispose(): Promise<void>;
}

/**
 * Loads only the vocabulary of a GGUF model through node-llama-cpp (`vocabOnly`: no weights are read,
 * so a 7B base model loads in well under a second) on the CPU backend.
 */
export async function loadTokenizer(modelPath: string): Promise<Tokenizer> {
  // Checked again here, where the file is opened natively: a path swapped for a FIFO since the service
  // checked it would block llama.cpp's open for good.
  await checkRegularFile(modelPath, { field: 'tokenizerModel', what: 'The tokenizer model' });
  // Loaded here, not at the top: most imports count no tokens, and node-llama-cpp takes a while to load.
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  const logs: string[] = [];
  // llama.cpp's own messages go nowhere unless loading fails: then they say why.
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, logger: (_level, message) => void logs.push(message.trim()) });
  try {
    const model = await llama.loadModel({ modelPath, vocabOnly: true });
    return {
      count: (text) => model.tokenize(text).length,
      dispose: async () => {
        await model.dispose();
        await llama.dispose();
      },
    };
  } catch (error) {
    await llama.dispose();
    const detail = (error as Error).message;
    throw new AppError('invalid_arguments', `Cannot load a tokenizer from ${modelPath}: ${detail}${logs.length ? ` (${logs.slice(-2).join('; ')})` : ''}`, {
      field: 'tokenizerModel',
      cause: error,
    });
  }
}
