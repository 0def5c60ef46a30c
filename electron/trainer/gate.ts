import type { Llama, LlamaModel } from 'node-llama-cpp';
import type { PromptTemplates } from '../../shared/prompts';
import { unwrapMermaid } from '../../shared/prompts';
import type { PromptCompletion } from '../../shared/training/examples';
import type { TrainerGate } from '../../shared/training/protocol';
import { Trainer } from '../../native/index';
import { complete } from '../core/generation/service';
import { ExampleRenderer, fitToLength } from '../core/prompts/render';
import { ValidationService } from '../core/validation';
import { parsesAsMermaid } from '../core/validation/mermaid';

const DIAGRAM_KINDS = new Set(['erd', 'flowchart', 'sequence']);

export interface GateRequest {
  readonly modelPath: string;
  readonly candidate: string;
  /** The adapter compared with; null: the plain base. */
  readonly against: string | null;
  /** The held-out set, each with its kind. */
  readonly examples: readonly PromptCompletion[];
  readonly templates: PromptTemplates;
  readonly maxLength: number;
  /** Greedy generations per side on held-out diagram prompts, at most. */
  readonly prompts: number;
  readonly maxTokens: number;
  readonly threads?: number;
  readonly signal?: AbortSignal;
  readonly log?: (text: string) => void;
}

type Metrics = TrainerGate['candidate'];

/**
 * The evaluation gate's measurements, both sides on the same held-out examples: mean loss over the
 * completions' tokens (our own forward pass, as training computes it), then, for diagram kinds, greedy
 * generations with node-llama-cpp on the first `prompts` held-out diagram prompts, validated like any artifact.
 */
export async function measureGate(llama: Llama, request: GateRequest): Promise<TrainerGate> {
  const losses = await heldOutLosses(llama, request);
  const generated = await generations(llama, request);
  return {
    candidate: { ...losses.candidate, ...generated.candidate },
    against: { ...losses.against, ...generated.against },
  };
}

async function heldOutLosses(llama: Llama, request: GateRequest): Promise<{ candidate: Pick<Metrics, 'validationLoss' | 'examples'>; against: Pick<Metrics, 'validationLoss' | 'examples'> }> {
  const vocab = await llama.loadModel({ modelPath: request.modelPath, vocabOnly: true });
  let rendered;
  try {
    const renderer = new ExampleRenderer(vocab, request.templates);
    rendered = fitToLength(request.examples.map((e) => renderer.render(e)), request.maxLength).examples;
  } finally {
    await vocab.dispose();
  }
  const none = { validationLoss: null, examples: 0 };
  if (rendered.length === 0) return { candidate: none, against: none };
  const trainer = Trainer.forLlama(llama);
  const model = await trainer.loadModel(request.modelPath, { ...(request.threads ? { threads: request.threads } : {}), ...(request.signal ? { signal: request.signal } : {}) });
  try {
    const lossWith = async (adapterPath: string | null) => {
      const adapter = adapterPath ? await model.loadAdapter(adapterPath) : undefined;
      try {
        let sum = 0;
        let count = 0;
        for (const example of rendered) {
          request.signal?.throwIfAborted();
          const logProbs = await model.logProbabilities(example.tokens, adapter ? { adapter } : {});
          // logProbs[i] is token i + 1's, given the tokens before it: the completion's tokens start at completionStart.
          for (let t = example.completionStart; t < example.tokens.length; t++) {
            sum -= logProbs[t - 1]!;
            count++;
          }
        }
        return { validationLoss: count ? sum / count : null, examples: rendered.length };
      } finally {
        adapter?.dispose();
      }
    };
    const candidate = await lossWith(request.candidate);
    const against = await lossWith(request.against);
    request.log?.(`gate: held-out loss ${candidate.validationLoss?.toFixed(4)} vs ${against.validationLoss?.toFixed(4)} on ${rendered.length} examples`);
    return { candidate, against };
  } finally {
    model.dispose();
  }
}

async function generations(llama: Llama, request: GateRequest): Promise<{ candidate: Pick<Metrics, 'prompts' | 'validShare' | 'meanScore'>; against: Pick<Metrics, 'prompts' | 'validShare' | 'meanScore'> }> {
  const prompts = request.examples.filter((e) => e.kind && DIAGRAM_KINDS.has(e.kind)).slice(0, request.prompts);
  const none = { prompts: 0, validShare: null, meanScore: null };
  if (prompts.length === 0) return { candidate: none, against: none };
  const model: LlamaModel = await llama.loadModel({ modelPath: request.modelPath });
  const validation = new ValidationService();
  try {
    const renderer = new ExampleRenderer(model, request.templates);
    // Prompts too long for the model's context are left out (they could not be answered at all).
    const turns = prompts
      .map((example) => ({ example, tokens: renderer.renderPrompt(renderer.turn(example.kind, example.prompt)) }))
      .filter((t) => t.tokens.length + 16 <= model.trainContextSize);
    if (turns.length === 0) return { candidate: none, against: none };
    const contextSize = Math.min(model.trainContextSize, Math.max(...turns.map((t) => t.tokens.length)) + request.maxTokens);
    const side = async (adapterPath: string | null) => {
      const context = await model.createContext({
        contextSize,
        sequences: 1,
        threads: request.threads ?? llama.cpuMathCores,
        ...(adapterPath ? { lora: { adapters: [{ filePath: adapterPath }] } } : {}),
      });
      try {
        const sequence = context.getSequence();
        let valid = 0;
        let score = 0;
        for (const { example, tokens: prompt } of turns) {
          request.signal?.throwIfAborted();
          await sequence.clearHistory();
          const reply = await complete({ model, renderer, sequence }, prompt, { temperature: 0, topP: 1, maxTokens: request.maxTokens, seed: 0 }, request.signal ?? new AbortController().signal, () => undefined);
          const result = await validation.check({ kind: example.kind!, text: unwrapMermaid(reply.text).text });
          if (parsesAsMermaid(result)) valid++;
          score += result.score;
        }
        return { prompts: turns.length, validShare: valid / turns.length, meanScore: score / turns.length };
      } finally {
        await context.dispose();
      }
    };
    const candidate = await side(request.candidate);
    const against = await side(request.against);
    request.log?.(`gate: valid Mermaid ${candidate.validShare} vs ${against.validShare} on ${turns.length} prompts`);
    return { candidate, against };
  } finally {
    await validation.dispose();
    await model.dispose();
  }
}
