// The chat format a published model is prompted with: the base's own, as the app trained it, as an Ollama
// Go template with its stop words, checked against node-llama-cpp's rendering of the same turn.
import { basename } from 'node:path';
import { getLlama, LlamaLogLevel, SpecialTokensText } from 'node-llama-cpp';
import type { Llama, LlamaModel, LlamaText, Token } from 'node-llama-cpp';
import { AppError } from '../../../shared/errors';
import { readModelFile } from '../models/ggufInfo';
import { briefOllamaText as brief } from '../ollama';
import { ExampleRenderer } from '../prompts/render';

/** What Ollama needs to prompt the model as the app trained it: its Go TEMPLATE, stop words, other PARAMETERs. */
export interface OllamaChat {
  template: string;
  stop: string[];
  /** More Modelfile parameters (num_ctx, …); `stop` is sent from `stop`. */
  parameters: Record<string, number | string | string[]>;
  /** The chat format the template is for ('llama3', 'chatml', …), or 'explicit' for a caller's own. */
  family?: string;
}

// ---- the chat template ----

export interface OllamaChatOptions {
  /** The node-llama-cpp runtime to read the vocabulary with (the app's LlamaRuntime); default a CPU-only one. */
  llama?: Llama;
  /** An Ollama Go template to use as it is, for a chat format not recognised here; no check is made. */
  template?: string;
  /** The stop words for `template`. */
  stop?: string[];
}

interface ChatFamily {
  readonly id: string;
  readonly label: string;
  /** Text in the rendered prompt that says it is this family. */
  readonly marker: string;
  readonly stop: readonly string[];
  /** Whether a fixed text before the system message (Llama 3.1's dates) can go into the template. */
  readonly preamble: boolean;
  /** The Go template, with `preamble` (Go-escaped) before a system message's content where allowed. */
  template(preamble: string): string;
  /** What `template(preamble)` renders for one system and one user message, up to where the reply starts. */
  render(system: string, user: string, preamble: string): string;
}

// Ollama's own templates (template/*.gotmpl and their *.json stop words in ollama/ollama, as at fb307609, the
// templates last changed in 413ae39f, 2024-08-27), checked with Go's text/template against the `render` beside each,
// and changed only where node-llama-cpp's chat wrapper, which renders the prompts the app trains with
// (prompts/render.ts), frames a turn otherwise; ollamaChatFor checks the two agree on every base.
const GO_SYSTEM_PREAMBLE = (preamble: string) => (preamble ? `{{ if eq .Role "system" }}${goText(preamble)}{{ end }}` : '');

const LLAMA3: ChatFamily = {
  id: 'llama3',
  label: 'Llama 3 (<|start_header_id|>)',
  marker: '<|start_header_id|>',
  stop: ['<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'],
  preamble: true,
  // template/llama3-instruct.gotmpl
  template: (p) =>
    `{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n${GO_SYSTEM_PREAMBLE(p)}{{ .Content }}<|eot_id|>\n{{- end }}<|start_header_id|>assistant<|end_header_id|>\n\n`,
  render: (s, u, p) => `<|start_header_id|>system<|end_header_id|>\n\n${p}${s}<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n${u}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n`,
};

const CHATML: ChatFamily = {
  id: 'chatml',
  label: 'ChatML, as Qwen (<|im_start|>)',
  marker: '<|im_start|>',
  stop: ['<|im_start|>', '<|im_end|>'],
  preamble: true,
  // template/chatml.gotmpl
  template: (p) => `{{- range .Messages }}<|im_start|>{{ .Role }}\n${GO_SYSTEM_PREAMBLE(p)}{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n`,
  render: (s, u, p) => `<|im_start|>system\n${p}${s}<|im_end|>\n<|im_start|>user\n${u}<|im_end|>\n<|im_start|>assistant\n`,
};

const GEMMA: ChatFamily = {
  id: 'gemma',
  label: 'Gemma (<start_of_turn>)',
  marker: '<start_of_turn>',
  stop: ['<start_of_turn>', '<end_of_turn>'],
  preamble: false,
  // template/gemma-instruct.gotmpl, with node-llama-cpp's GemmaChatWrapper's "\n\n---\n\n" between the system
  // text and the first user message (Ollama's joins them with one newline).
  template: () =>
    '{{- $system := "" }}\n{{- range .Messages }}\n{{- if eq .Role "system" }}\n{{- if not $system }}{{ $system = .Content }}\n{{- else }}{{ $system = printf "%s\\n\\n%s" $system .Content }}\n{{- end }}\n{{- continue }}\n{{- else if eq .Role "user" }}<start_of_turn>user\n{{ if $system }}{{ $system }}\n\n---\n\n{{ $system = "" }}{{ end }}\n{{- else if eq .Role "assistant" }}<start_of_turn>model\n{{ end }}\n{{- .Content }}<end_of_turn>\n{{ end }}<start_of_turn>model\n',
  render: (s, u) => `<start_of_turn>user\n${s}\n\n---\n\n${u}<end_of_turn>\n<start_of_turn>model\n`,
};

const PHI3: ChatFamily = {
  id: 'phi3',
  label: 'Phi-3 (<|user|>)',
  marker: '<|user|>',
  stop: ['<|end|>', '<|system|>', '<|user|>', '<|assistant|>'],
  preamble: true,
  // template/phi-3.gotmpl
  template: (p) => `{{- range .Messages }}<|{{ .Role }}|>\n${GO_SYSTEM_PREAMBLE(p)}{{ .Content }}<|end|>\n{{ end }}<|assistant|>\n`,
  render: (s, u, p) => `<|system|>\n${p}${s}<|end|>\n<|user|>\n${u}<|end|>\n<|assistant|>\n`,
};

const DEEPSEEK: ChatFamily = {
  id: 'deepseek',
  label: 'DeepSeek (<｜User｜>)',
  marker: '<｜User｜>',
  stop: ['<｜end▁of▁sentence｜>', '<｜User｜>', '<｜Assistant｜>'],
  preamble: false,
  // Ollama's template/ has none: DeepSeek's turns as Ollama's model/renderers/deepseek3.go writes them (system
  // text, then <｜User｜>…<｜Assistant｜>…<｜end▁of▁sentence｜>), without its "</think>", as node-llama-cpp's
  // DeepSeekChatWrapper trains them.
  template: () =>
    '{{- if .System }}{{ .System }}{{ end }}\n{{- range .Messages }}\n{{- if eq .Role "user" }}<｜User｜>{{ .Content }}\n{{- else if eq .Role "assistant" }}<｜Assistant｜>{{ .Content }}<｜end▁of▁sentence｜>\n{{- end }}\n{{- end }}<｜Assistant｜>',
  render: (s, u) => `${s}<｜User｜>${u}<｜Assistant｜>`,
};

const LLAMA2: ChatFamily = {
  id: 'llama2',
  label: 'Llama 2 ([INST] <<SYS>>)',
  marker: '<<SYS>>',
  stop: ['[INST]', '[/INST]', '<<SYS>>', '<</SYS>>'],
  preamble: false,
  // template/llama2-chat.gotmpl, with the space after the last [/INST] that node-llama-cpp's chat wrapper puts
  // before the reply (the tokenizer makes it a token of its own, so the model learned to answer after it).
  template: () =>
    '{{- $system := "" }}[INST] {{ range $i, $_ := .Messages }}\n{{- $last := eq (len (slice $.Messages $i)) 1 }}\n{{- if eq .Role "system" }}\n{{- if not $system }}{{ $system = .Content }}\n{{- else }}{{ $system = printf "%s\\n\\n%s" $system .Content }}\n{{- end }}\n{{- else if eq .Role "user" }}<<SYS>>\n{{- if $system }}\n{{ $system }}\n{{ $system = "" }}\n{{- end }}<</SYS>>\n\n{{ .Content }} [/INST]{{ if $last }} {{ end }}\n{{- else if eq .Role "assistant" }} {{ .Content }}</s><s>[INST] {{ end }}\n{{- end }}',
  render: (s, u) => `[INST] <<SYS>>\n${s}\n<</SYS>>\n\n${u} [/INST] `,
};

const MISTRAL: ChatFamily = {
  id: 'mistral',
  label: 'Mistral ([INST])',
  marker: '[INST]',
  // Ollama's template/mistral-instruct.json lists ChatML's stop words, which Mistral never writes.
  stop: ['[INST]', '[/INST]'],
  preamble: false,
  // As node-llama-cpp's MistralChatWrapper: no space after [INST] (the tokenizer puts its own), and the system
  // text before the last user message, as Ollama's mistral model on its library does.
  template: () =>
    '{{- range $index, $_ := .Messages }}\n{{- if eq .Role "user" }}[INST]{{ if and $.System (eq (len (slice $.Messages $index)) 1) }}{{ $.System }}\n\n{{ end }}{{ .Content }}[/INST]\n{{- else if eq .Role "assistant" }}{{ .Content }}</s>\n{{- end }}\n{{- end }}',
  render: (s, u) => `[INST]${s}\n\n${u}[/INST]`,
};

/** In the order they are told apart (Llama 2 before Mistral: both have [INST]). */
const FAMILIES: readonly ChatFamily[] = [LLAMA3, CHATML, GEMMA, PHI3, DEEPSEEK, LLAMA2, MISTRAL];

/** Go template text: only "{{" would start an action. */
function goText(text: string): string {
  return text.split('{{').join('{{ "{{" }}');
}

// A probe turn: the renderer's own system prompt (no kind), a user text and the start of a reply.
const PROBE_USER = 'Users place orders; an order has lines.';
const PROBE_COMPLETION = 'erDiagram';

let cpuLlama: Promise<Llama> | undefined;
function defaultLlama(): Promise<Llama> {
  cpuLlama ??= getLlama({ gpu: false, build: 'never', progressLogs: false, logLevel: LlamaLogLevel.error });
  cpuLlama.catch(() => (cpuLlama = undefined));
  return cpuLlama;
}

/**
 * The Ollama template, stop words and parameters that frame a chat as the app trains the base at `modelPath`:
 * its vocabulary is read (no weights) and the prompt node-llama-cpp's chat wrapper makes for it, the one
 * training uses, is compared with what Ollama's template for that family renders. Recognised: Llama 3,
 * ChatML (Qwen), Gemma, Phi-3, DeepSeek, Llama 2 and Mistral. Another format, or one that frames a turn
 * otherwise, is an 'invalid_arguments' AppError unless `options.template` is given.
 */
export async function ollamaChatFor(modelPath: string, options: OllamaChatOptions = {}): Promise<OllamaChat> {
  if (options.template !== undefined) {
    if (options.template.trim() === '') throw new AppError('invalid_arguments', 'The explicit Ollama template is empty.', { field: 'template' });
    return { template: options.template, stop: [...(options.stop ?? [])], parameters: {}, family: 'explicit' };
  }
  await readModelFile(modelPath, 'modelPath');
  const llama =
    options.llama ??
    (await defaultLlama().catch((error: unknown) => {
      throw new AppError('unavailable', `node-llama-cpp cannot start to read the vocabulary of ${modelPath} (${brief(error instanceof Error ? error.message : String(error))}).`, { cause: error });
    }));
  const vocab = await llama.loadModel({ modelPath, vocabOnly: true }).catch((error: unknown) => {
    throw new AppError('invalid_arguments', `The vocabulary of ${modelPath} cannot be read (${brief(error instanceof Error ? error.message : String(error))}).`, { field: 'modelPath', cause: error });
  });
  try {
    return chatOf(vocab, modelPath);
  } finally {
    await vocab.dispose();
  }
}

function chatOf(vocab: LlamaModel, modelPath: string): OllamaChat {
  const renderer = new ExampleRenderer(vocab, {});
  const probe = renderer.turn(undefined, PROBE_USER);
  const trained = renderer.wrapper.generateContextState({
    chatHistory: [
      { type: 'system', text: probe.system },
      { type: 'user', text: probe.user },
      { type: 'model', response: [] },
    ],
  });
  const trainedText = plainText(trained.contextText, vocab);
  const show = (text: string) => brief(JSON.stringify(text.split(probe.system).join('{system}').split(probe.user).join('{user}')));
  const family = FAMILIES.find((f) => trainedText.includes(f.marker));
  if (!family) {
    throw new AppError(
      'invalid_arguments',
      `${basename(modelPath)} is trained with prompts framed as ${show(trainedText)} (node-llama-cpp's ${renderer.wrapper.wrapperName} chat format), which is none of those Ollama can be given here: ${FAMILIES.map((f) => f.label).join(', ')}. Give an explicit Ollama template for it.`,
      { field: 'modelPath' },
    );
  }
  // The tokens training has before the reply: an example rendered, cut where its completion starts.
  const example = renderer.render({ prompt: PROBE_USER, completion: PROBE_COMPLETION });
  const trainedTokens = withoutBos(example.tokens.slice(0, example.completionStart), vocab);
  for (const preamble of preamblesFor(family, trainedText, probe.system, probe.user)) {
    const text = family.render(probe.system, probe.user, preamble);
    if (text === trainedText || sameTokens(withoutBos(vocab.tokenize(text, true), vocab), trainedTokens)) {
      return { template: family.template(preamble), stop: stopWords(family, renderer, vocab), parameters: {}, family: family.id };
    }
  }
  throw new AppError(
    'invalid_arguments',
    `${basename(modelPath)} is trained with prompts framed as ${show(trainedText)}, but Ollama's ${family.label} template frames them as ${show(family.render(probe.system, probe.user, ''))}: the published model would not see the prompts it learned. Give an explicit Ollama template that renders the first.`,
    { field: 'modelPath' },
  );
}

/** The LlamaText as the text Ollama's template would have to render: special tokens as their text, no leading BOS (the runner adds it). */
function plainText(text: LlamaText, vocab: LlamaModel): string {
  return text.values
    .map((value, i) => {
      if (typeof value === 'string') return value;
      if (value instanceof SpecialTokensText) return value.value;
      if (i === 0 && value.value === 'BOS') return '';
      return vocab.detokenize(value.tokenize(vocab.tokenizer), true);
    })
    .join('');
}

/** '' and, for a family that allows one, the fixed text training puts before the system message (Llama 3.1's dates). */
function preamblesFor(family: ChatFamily, trainedText: string, system: string, user: string): string[] {
  if (!family.preamble) return [''];
  const plain = family.render(system, user, '');
  const at = plain.indexOf(system);
  const head = plain.slice(0, at);
  const tail = plain.slice(at);
  if (trainedText.length <= plain.length || !trainedText.startsWith(head) || !trainedText.endsWith(tail)) return [''];
  return ['', trainedText.slice(head.length, trainedText.length - tail.length)];
}

function withoutBos(tokens: readonly number[], vocab: LlamaModel): number[] {
  return tokens[0] !== undefined && tokens[0] === vocab.tokens.bos ? tokens.slice(1) : [...tokens];
}

function sameTokens(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}

/** The family's stop words, and the text of the token training ends a reply with when that is not EOS (Ollama stops at EOS itself). */
function stopWords(family: ChatFamily, renderer: ExampleRenderer, vocab: LlamaModel): string[] {
  const stop = [...family.stop];
  const end = renderer.endOfTurn;
  if (end.length === 1 && end[0] !== vocab.tokens.eos) {
    const text = vocab.detokenize(end as readonly Token[], true);
    if (text.trim() !== '' && !stop.includes(text)) stop.push(text);
  }
  return stop;
}
