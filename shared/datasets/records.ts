import type { DatasetFormat, Turn } from '../contract/datasets';
import { ArtifactKind } from '../contract/validation';
import type { PromptCompletion } from '../training/examples';

/**
 * One training example in the form every shape maps to: the user's request (`prompt`, plus Alpaca's
 * `input`), the target (`completion`), and the chat turns before the request (`context`).
 */
export interface DatasetRecord {
  readonly prompt: string;
  /** Alpaca's "input"; '' for the other shapes. */
  readonly input: string;
  readonly completion: string;
  /** Earlier turns of a chat record (system, user, assistant), oldest first; [] for the other shapes. */
  readonly context: readonly Turn[];
  readonly kind: ArtifactKind | null;
}

export type RecordResult =
  | { readonly ok: true; readonly format: DatasetFormat; readonly record: DatasetRecord }
  /** `format` is the shape the record was taken for (null when it has none we know). */
  | { readonly ok: false; readonly format: DatasetFormat | null; readonly message: string };

const ROLES = new Set(['system', 'user', 'assistant']);

/** The shape a JSON object has, from its keys; null when it is none of the three. */
export function shapeOf(value: Record<string, unknown>): DatasetFormat | null {
  if ('messages' in value) return 'messages';
  if ('instruction' in value || 'output' in value) return 'alpaca';
  if ('prompt' in value || 'completion' in value) return 'prompt-completion';
  return null;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}

/** Problems with one string field: missing, of the wrong type, or empty (when `required`). */
function checkText(value: unknown, field: string, problems: string[], required = true): value is string {
  if (value === undefined) problems.push(`"${field}" is missing`);
  else if (typeof value !== 'string') problems.push(`"${field}" must be a string, not ${typeName(value)}`);
  else if (required && value.trim() === '') problems.push(`"${field}" is empty`);
  else return true;
  return false;
}

function readKind(value: unknown, problems: string[]): ArtifactKind | null {
  if (value === undefined || value === null) return null;
  const parsed = ArtifactKind.safeParse(value);
  if (parsed.success) return parsed.data;
  problems.push(`"kind" must be one of ${ArtifactKind.options.join(', ')}`);
  return null;
}

function readMessages(messages: unknown, problems: string[]): { context: Turn[]; prompt: string; completion: string } | null {
  if (!Array.isArray(messages)) {
    problems.push(`"messages" must be an array, not ${typeName(messages)}`);
    return null;
  }
  if (messages.length < 2) {
    problems.push(`"messages" needs a user turn and the assistant's answer (it has ${messages.length} message${messages.length === 1 ? '' : 's'})`);
    return null;
  }
  const turns: Turn[] = [];
  messages.forEach((message: unknown, i) => {
    const at = `messages[${i}]`;
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      problems.push(`${at} must be an object, not ${typeName(message)}`);
      return;
    }
    const { role, content } = message as Record<string, unknown>;
    if (role === undefined) problems.push(`${at}.role is missing`);
    else if (typeof role !== 'string' || !ROLES.has(role)) problems.push(`${at}.role must be "system", "user" or "assistant"`);
    if (content === undefined) problems.push(`${at}.content is missing`);
    else if (typeof content !== 'string') problems.push(`${at}.content must be a string, not ${typeName(content)}`);
    turns.push({ role: role as Turn['role'], content: content as string });
  });
  if (problems.length) return null;
  const last = turns[turns.length - 1]!;
  const request = turns[turns.length - 2]!;
  if (last.role !== 'assistant') problems.push(`the last message must be the assistant's (the completion), not ${last.role}'s`);
  else if (last.content.trim() === '') problems.push(`messages[${turns.length - 1}].content (the completion) is empty`);
  if (request.role !== 'user') problems.push(`the message before the completion must be the user's, not ${request.role}'s`);
  else if (request.content.trim() === '') problems.push(`messages[${turns.length - 2}].content (the prompt) is empty`);
  return problems.length ? null : { context: turns.slice(0, -2), prompt: request.content, completion: last.content };
}

/**
 * Reads one parsed JSON value as a dataset record of any of the three shapes: {"prompt", "completion"},
 * OpenAI chat {"messages": [{role, content}, …]} (the last assistant turn is the completion, the user
 * turn before it the prompt, anything earlier context), or Alpaca {"instruction", "input", "output"}
 * ("input" may be left out). An optional "kind" names the artifact kind. Other keys are ignored.
 */
export function readRecord(value: unknown): RecordResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, format: null, message: `expected a JSON object, got ${typeName(value)}` };
  }
  const object = value as Record<string, unknown>;
  const format = shapeOf(object);
  if (!format) {
    return { ok: false, format, message: 'not a dataset record: expected "prompt" and "completion", "messages", or "instruction", "input" and "output"' };
  }
  const problems: string[] = [];
  const kind = readKind(object.kind, problems);
  let record: DatasetRecord | null = null;
  if (format === 'prompt-completion') {
    const prompt = checkText(object.prompt, 'prompt', problems);
    const completion = checkText(object.completion, 'completion', problems);
    if (prompt && completion) record = { prompt: object.prompt as string, input: '', completion: object.completion as string, context: [], kind };
  } else if (format === 'alpaca') {
    const instruction = checkText(object.instruction, 'instruction', problems);
    const input = object.input === undefined || checkText(object.input, 'input', problems, false);
    const output = checkText(object.output, 'output', problems);
    if (instruction && input && output) {
      record = { prompt: object.instruction as string, input: (object.input as string | undefined) ?? '', completion: object.output as string, context: [], kind };
    }
  } else {
    const chat = readMessages(object.messages, problems);
    if (chat) record = { ...chat, input: '', kind };
  }
  if (problems.length || !record) return { ok: false, format, message: problems.join('; ') };
  return { ok: true, format, record };
}

/** The request as one text: Alpaca's instruction and input joined by a blank line. */
export function requestText(record: DatasetRecord): string {
  return record.input === '' ? record.prompt : `${record.prompt}\n\n${record.input}`;
}

const LABELS: Record<Turn['role'], string> = { system: 'System', user: 'User', assistant: 'Assistant' };

/**
 * The request with its chat context folded in, for shapes that have no turns: each earlier turn as
 * "Role: text", then "User: request". Without context, the request alone.
 */
export function flatPrompt(record: DatasetRecord): string {
  const request = requestText(record);
  if (record.context.length === 0) return request;
  return [...record.context.map((t) => `${LABELS[t.role]}: ${t.content}`), `${LABELS.user}: ${request}`].join('\n\n');
}

/** The example as the trainer takes it (chat context is folded into the prompt). */
export function toPromptCompletion(record: DatasetRecord): PromptCompletion {
  const example = { prompt: flatPrompt(record), completion: record.completion };
  return record.kind ? { ...example, kind: record.kind } : example;
}

/** The example as a JSON object of one of the three shapes (what an export writes per line). */
export function toShape(record: DatasetRecord, format: DatasetFormat): Record<string, unknown> {
  switch (format) {
    case 'prompt-completion':
      return { prompt: flatPrompt(record), completion: record.completion };
    case 'messages':
      return {
        messages: [
          ...record.context.map((t) => ({ role: t.role, content: t.content })),
          { role: 'user', content: requestText(record) },
          { role: 'assistant', content: record.completion },
        ],
      };
    case 'alpaca': {
      const instruction = record.context.length === 0 ? record.prompt : flatPrompt({ ...record, input: '' });
      return { instruction, input: record.input, output: record.completion };
    }
  }
}

/**
 * The text an example's hash is taken of: context, request and completion. The same example in any
 * shape (an Alpaca instruction + input, or the prompt they join to) has the same identity; the kind does
 * not count.
 */
export function identityText(record: DatasetRecord): string {
  return JSON.stringify([record.context.map((t) => [t.role, t.content]), requestText(record), record.completion]);
}
