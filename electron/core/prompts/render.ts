import { resolveChatWrapper } from 'node-llama-cpp';
import type { ChatHistoryItem, ChatWrapper, LlamaModel } from 'node-llama-cpp';
import type { PromptCompletion } from '../../shared/training/examples';

/** An example as token ids; the loss covers tokens from `completionStart` on (completion and end-of-turn). */
export interface RenderedExample {
  readonly tokens: readonly number[];
  readonly completionStart: number;
}

/**
 * Renders examples with the model's own chat wrapper, the one node-llama-cpp's LlamaChatSession picks
 * ("auto"), so training sees exactly the text generation will: system prompt, user turn, model turn,
 * then the token that ends the turn, so the model learns to stop.
 */
export class ExampleRenderer {
  readonly wrapper: ChatWrapper;
  private readonly endOfTurn: readonly number[];

  constructor(
    private readonly model: LlamaModel,
    private readonly systemPrompt: string,
  ) {
    this.wrapper = resolveChatWrapper(model);
    this.endOfTurn = this.findEndOfTurn();
  }

  render(example: PromptCompletion): RenderedExample {
    const history = (response: string[]): ChatHistoryItem[] => [
      { type: 'system', text: this.systemPrompt },
      { type: 'user', text: example.prompt },
      { type: 'model', response },
    ];
    const prompt = this.tokenize(history([]));
    const full = [...this.tokenize(history([example.completion])), ...this.endOfTurn];
    // Tokens may merge across the boundary: the completion starts where the two renderings part.
    let start = 0;
    while (start < prompt.length && start < full.length && prompt[start] === full[start]) start++;
    return { tokens: full, completionStart: start };
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
