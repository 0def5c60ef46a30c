import { resolveChatWrapper } from 'node-llama-cpp';
import type { ChatHistoryItem, ChatWrapper, LlamaModel, LlamaText } from 'node-llama-cpp';
import type { ArtifactKind } from '../../../shared/contract/validation';
import { chatTurn } from '../../../shared/prompts';
import type { ChatTurn, PromptTemplates } from '../../../shared/prompts';
import type { PromptCompletion } from '../../../shared/training/examples';

/** An example as token ids; the loss covers tokens from `completionStart` on (completion and end-of-turn). */
export interface RenderedExample {
  readonly tokens: readonly number[];
  readonly completionStart: number;
}

/**
 * The one rendering of prompts, for training and generation alike: the kind's template makes the turn
 * (shared/prompts.ts), and the model's own chat wrapper, the one node-llama-cpp's LlamaChatSession picks
 * ("auto"), makes the tokens: system prompt, user turn, model turn, then the token that ends the turn,
 * so the model learns to stop. A version is trained on exactly the text it will be asked.
 */
export class ExampleRenderer {
  readonly wrapper: ChatWrapper;
  readonly endOfTurn: readonly number[];

  constructor(
    private readonly model: LlamaModel,
    private readonly templates: PromptTemplates,
  ) {
    this.wrapper = resolveChatWrapper(model);
    this.endOfTurn = this.findEndOfTurn();
  }

  /** The turn an example or a request of `kind` becomes. */
  turn(kind: ArtifactKind | null | undefined, prompt: string): ChatTurn {
    return chatTurn(this.templates, kind, prompt);
  }

  /** The tokens generation starts from: everything up to where the model's reply begins. */
  renderPrompt(turn: ChatTurn): number[] {
    return this.tokenize(history(turn, []));
  }

  render(example: PromptCompletion): RenderedExample {
    const turn = this.turn(example.kind, example.prompt);
    const prompt = this.renderPrompt(turn);
    const full = [...this.tokenize(history(turn, [example.completion])), ...this.endOfTurn];
    // Tokens may merge across the boundary: the completion starts where the two renderings part.
    let start = 0;
    while (start < prompt.length && start < full.length && prompt[start] === full[start]) start++;
    return { tokens: full, completionStart: start };
  }

  /** What ends the model's turn in this chat template (special tokens or text), for generation to stop on. */
  stopTriggers(): LlamaText[] {
    return this.wrapper.generateContextState({ chatHistory: [{ type: 'user', text: '' }, { type: 'model', response: [] }] }).stopGenerationTriggers;
  }

  private tokenize(history: ChatHistoryItem[]): number[] {
    return this.wrapper.generateContextState({ chatHistory: history }).contextText.tokenize(this.model.tokenizer) as number[];
  }

  // The first stop trigger that is a single special token (end-of-turn or EOS), else the model's EOS.
  private findEndOfTurn(): number[] {
    const state = this.wrapper.generateContextState({ chatHistory: [{ type: 'user', text: '' }, { type: 'model', response: [] }] });
    for (const trigger of state.stopGenerationTriggers) {
      const tokens = trigger.tokenize(this.model.tokenizer, 'trimLeadingSpace') as number[];
      if (tokens.length === 1 && (tokens[0] === this.model.tokens.eos || tokens[0] === this.model.tokens.eot)) return tokens;
    }
    return this.model.tokens.eos === null ? [] : [this.model.tokens.eos];
  }
}

function history(turn: ChatTurn, response: string[]): ChatHistoryItem[] {
  return [
    { type: 'system', text: turn.system },
    { type: 'user', text: turn.user },
    { type: 'model', response },
  ];
}

export interface PreparedExamples {
  readonly examples: RenderedExample[];
  /** Examples cut to max length (their completion partly lost). */
  readonly truncated: number;
  /** Examples dropped because no completion token fit within max length. */
  readonly dropped: number;
}

/** Cuts each example to `maxLength` tokens; one whose completion does not start within it is dropped. */
export function fitToLength(rendered: readonly RenderedExample[], maxLength: number): PreparedExamples {
  let truncated = 0;
  let dropped = 0;
  const examples: RenderedExample[] = [];
  for (const example of rendered) {
    if (example.tokens.length <= maxLength) {
      examples.push(example);
      continue;
    }
    truncated++;
    // Position t predicts token t+1, so at least one completion token must sit at index < maxLength.
    if (example.completionStart >= maxLength) {
      dropped++;
      continue;
    }
    examples.push({ tokens: example.tokens.slice(0, maxLength), completionStart: example.completionStart });
  }
  return { examples, truncated, dropped };
}
