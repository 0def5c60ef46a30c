import { join } from 'node:path';
import { LlamaCompletion } from 'node-llama-cpp';
import type { Token } from 'node-llama-cpp';
import { Trainer } from '../../native/index';
import { createCore } from '../../electron/core/services';
import { ExampleRenderer } from '../../electron/core/prompts/render';
import { byKind, loadPromptTemplates } from '../../electron/core/prompts/templates';
import { makeTempDir } from '../helpers/tempDir';
import { writeTinyAdapter, writeTinyModel } from '../helpers/tinyModel';
import { testLlama } from '../helpers/llamaReference';
import type { BenchSuite } from './figures';

const RUNS = 3;
const MAX_TOKENS = 96;
const REQUIREMENTS = 'Customers place orders; each order has line items that refer to products in stock.';

/**
 * Our generation service (template, shared rendering, streaming events, storage, validation) against
 * node-llama-cpp's LlamaCompletion called directly on the same model, prompt tokens, context size and
 * sampling; time to first token; and switching adapters against loading the base. A generated 60M-parameter
 * Q8_0 model (512 wide, 8 layers): random weights, so replies are gibberish of a fixed length.
 */
export const generateSuite: BenchSuite = {
  name: 'generate',
  async run(record) {
    const dir = makeTempDir('architect-bench-generate-');
    const llama = await testLlama();
    const trainer = Trainer.forLlama(llama);
    const spec = writeTinyModel(join(dir.path, 'bench-q8_0.gguf'), { type: 'q8_0', nEmbd: 512, nLayer: 8, nHead: 8, nHeadKv: 4, nFf: 1536, contextLength: 2048 }, (t, d, r) => trainer.quantize(t, d, r));
    const modelPath = join(dir.path, 'bench-q8_0.gguf');
    const adapters = ['a', 'b'].map((name, i) => {
      const path = join(dir.path, `${name}.lora.gguf`);
      writeTinyAdapter(path, spec, { rank: 8, alpha: 16, targets: ['attn_q', 'attn_k', 'attn_v', 'attn_output'], seed: i + 1 });
      return path;
    });
    const core = await createCore({ dataDir: join(dir.path, 'data') });
    try {
      const modelId = (await core.services.models.import({ path: modelPath })).id;
      const sampling = { temperature: 0.7, topP: 0.9, maxTokens: MAX_TOKENS, seed: 11 };
      const api = core.connect().api;
      let n = 0;
      const ours = async () => {
        const started = performance.now();
        const result = await api.generation.generate({ generationId: `bench-${n++}-generation`, kind: 'code', requirements: REQUIREMENTS, model: { provider: 'local', modelId }, sampling, contextSize: 2048 });
        return { ...result.generation, wallMs: performance.now() - started };
      };

      // node-llama-cpp directly, on the same tokens the service renders, in a context of the same size.
      const templates = byKind(await loadPromptTemplates(undefined));
      const direct = await llama.loadModel({ modelPath });
      // The threads our runtime gives a context on the CPU (LlamaRuntime): one per math core.
      const threads = llama.gpu === false ? llama.cpuMathCores : undefined;
      const context = await direct.createContext({ contextSize: 2048, sequences: 1, ...(threads ? { threads } : {}) });
      const sequence = context.getSequence();
      const renderer = new ExampleRenderer(direct, templates);
      const tokens = renderer.renderPrompt(renderer.turn('code', REQUIREMENTS));
      const prompt = direct.tokens.bos !== null && tokens[0] === direct.tokens.bos ? tokens.slice(1) : tokens;
      const theirs = async () => {
        await sequence.clearHistory();
        const completion = new LlamaCompletion({ contextSequence: sequence, autoDisposeSequence: false });
        let count = 0;
        const started = performance.now();
        await completion.generateCompletion(prompt as Token[], { ...sampling, repeatPenalty: false, disableContextShift: true, onToken: (t) => (count += t.length) });
        completion.dispose({ disposeSequence: false });
        return (count * 1000) / (performance.now() - started);
      };

      // Warm both, then alternate so drift of the machine hits both alike.
      await ours();
      await theirs();
      let bestOurs = 0;
      let bestTheirs = 0;
      let bestWall = 0;
      let firstToken = Infinity;
      let outputTokens = 0;
      for (let i = 0; i < RUNS; i++) {
        const g = await ours();
        bestOurs = Math.max(bestOurs, g.tokensPerSecond);
        bestWall = Math.max(bestWall, (g.outputTokens * 1000) / g.wallMs);
        firstToken = Math.min(firstToken, g.firstTokenMs ?? Infinity);
        outputTokens = g.outputTokens;
        bestTheirs = Math.max(bestTheirs, await theirs());
      }
      await context.dispose();
      await direct.dispose();
      const note = `${prompt.length}-token prompt, ${outputTokens} tokens out, ${threads ?? 'GPU'} threads, best of ${RUNS}`;
      record({ name: 'generate.ours', value: bestOurs, unit: 'tok/s', note: `the service's own figure (prompt + decoding); ${note}` });
      record({ name: 'generate.ours_whole_call', value: bestWall, unit: 'tok/s', note: 'output tokens over the whole call: template, rendering, storage, validation' });
      record({ name: 'generate.llama_cpp', value: bestTheirs, unit: 'tok/s', note: 'LlamaCompletion directly' });
      record({ name: 'generate.ratio', value: bestOurs / bestTheirs, unit: '×', note: 'target ≥ 0.97' });
      record({ name: 'generate.ratio_whole_call', value: bestWall / bestTheirs, unit: '×', note: 'with storage and validation counted against us' });
      record({ name: 'generate.first_token', value: firstToken, unit: 'ms', note: 'from the call to the first token (prompt evaluation)' });

      // Loading the base against switching adapters on it (a new context each, the base kept).
      const host = core.services.generation.host;
      await host.unload();
      let started = performance.now();
      await host.acquire(modelPath, null, 2048, templates);
      const load = performance.now() - started;
      let worstSwitch = 0;
      for (const adapter of [...adapters, ...adapters]) {
        started = performance.now();
        await host.acquire(modelPath, adapter, 2048, templates);
        worstSwitch = Math.max(worstSwitch, performance.now() - started);
      }
      record({ name: 'generate.load_base', value: load, unit: 'ms', note: '60M-parameter Q8_0 file; a 7B file takes seconds' });
      record({ name: 'generate.switch_adapter', value: worstSwitch, unit: 'ms', note: `worst of 4 switches; ${(worstSwitch / load).toFixed(2)}× a base load` });
    } finally {
      await core.dispose();
      dir.remove();
    }
  },
};
