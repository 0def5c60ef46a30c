/** A training example in the guide's JSONL format. */
export interface PromptCompletion {
  readonly prompt: string;
  readonly completion: string;
}

/** A problem with one line of a JSONL file (1-based line numbers, as editors show them). */
export interface LineError {
  readonly line: number;
  readonly message: string;
}

/**
 * Parses JSONL text of {"prompt", "completion"} objects. Blank lines are skipped; every bad line is
 * reported with its number and reason, and nothing is returned unless all lines are good.
 */
export function parsePromptCompletionJsonl(text: string): { examples: PromptCompletion[]; errors: LineError[] } {
  const examples: PromptCompletion[] = [];
  const errors: LineError[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      errors.push({ line, message: `invalid JSON (${(error as Error).message})` });
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      errors.push({ line, message: 'expected an object with "prompt" and "completion"' });
      return;
    }
    const { prompt, completion } = value as Record<string, unknown>;
    for (const [field, v] of [['prompt', prompt], ['completion', completion]] as const) {
      if (typeof v !== 'string') errors.push({ line, message: `"${field}" must be a string${v === undefined ? ' (missing)' : ''}` });
      else if (v.trim() === '') errors.push({ line, message: `"${field}" is empty` });
    }
    if (typeof prompt === 'string' && typeof completion === 'string' && prompt.trim() && completion.trim()) {
      examples.push({ prompt, completion });
    }
  });
  if (examples.length === 0 && errors.length === 0) errors.push({ line: 0, message: 'the file has no examples' });
  return errors.length ? { examples: [], errors } : { examples, errors };
}
