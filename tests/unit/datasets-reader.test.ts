import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readExamplesFile } from '../../electron/core/datasets/readFile';
import { DatasetReader } from '../../shared/datasets/reader';
import { flatPrompt, identityText, readRecord, toPromptCompletion, toShape } from '../../shared/datasets/records';
import type { DatasetRecord } from '../../shared/datasets/records';
import { splitKey, validationCount } from '../../shared/datasets/split';
import { makeTempDir } from '../helpers/tempDir';

const encode = (text: string) => new TextEncoder().encode(text);

/** Feeds `bytes` in chunks of `chunk` bytes; returns what the reader reported, in order. */
function read(input: string | Uint8Array, chunk = 1 << 20, maxRecordBytes?: number) {
  const records: { line: number; record: DatasetRecord }[] = [];
  const errors: { line: number; message: string }[] = [];
  const reader = new DatasetReader({ record: (line, record) => records.push({ line, record }), error: (line, message) => errors.push({ line, message }) }, { maxRecordBytes });
  const bytes = typeof input === 'string' ? encode(input) : input;
  for (let at = 0; at < bytes.length && !reader.fatal; at += chunk) reader.push(bytes.subarray(at, at + chunk));
  reader.end();
  return { records, errors, reader };
}

const pc = (prompt: string, completion: string, extra: object = {}) => JSON.stringify({ prompt, completion, ...extra });
const chat = (...turns: [string, string][]) => JSON.stringify({ messages: turns.map(([role, content]) => ({ role, content })) });
const alpaca = (instruction: string, input: string | undefined, output: string) => JSON.stringify({ instruction, ...(input === undefined ? {} : { input }), output });

describe('dataset records: three shapes', () => {
  it('reads prompt/completion, chat messages and Alpaca into one form', () => {
    expect(readRecord(JSON.parse(pc('Draw an ERD', 'erDiagram', { kind: 'erd', id: 7 })))).toEqual({
      ok: true,
      format: 'prompt-completion',
      record: { prompt: 'Draw an ERD', input: '', completion: 'erDiagram', context: [], kind: 'erd' },
    });
    const messages = readRecord(JSON.parse(chat(['system', 'Be brief'], ['user', 'Hi'], ['assistant', 'Hello'], ['user', 'An ERD'], ['assistant', 'erDiagram'])));
    expect(messages).toEqual({
      ok: true,
      format: 'messages',
      record: {
        prompt: 'An ERD',
        input: '',
        completion: 'erDiagram',
        context: [
          { role: 'system', content: 'Be brief' },
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello' },
        ],
        kind: null,
      },
    });
    expect(readRecord(JSON.parse(alpaca('Document the API', 'POST /login', 'Returns a token')))).toMatchObject({
      ok: true,
      format: 'alpaca',
      record: { prompt: 'Document the API', input: 'POST /login', completion: 'Returns a token' },
    });
    expect(readRecord(JSON.parse(alpaca('No input', undefined, 'fine')))).toMatchObject({ ok: true, record: { input: '' } });
  });

  it.each([
    ['a JSON array', [], 'expected a JSON object, got an array'],
    ['a string', 'x', 'expected a JSON object, got a string'],
    ['no known keys', { text: 'x' }, 'not a dataset record'],
    ['a missing completion', { prompt: 'x' }, '"completion" is missing'],
    ['an empty prompt', { prompt: '  ', completion: 'y' }, '"prompt" is empty'],
    ['a number', { prompt: 'x', completion: 3 }, '"completion" must be a string, not a number'],
    ['both fields wrong', { prompt: null, completion: [] }, '"prompt" must be a string, not null; "completion" must be a string, not an array'],
    ['an unknown kind', { prompt: 'x', completion: 'y', kind: 'poem' }, '"kind" must be one of erd, flowchart'],
    ['messages not an array', { messages: 'hi' }, '"messages" must be an array, not a string'],
    ['one message', { messages: [{ role: 'user', content: 'x' }] }, '"messages" needs a user turn and the assistant\'s answer (it has 1 message)'],
    ['a bad role', { messages: [{ role: 'tool', content: 'x' }, { role: 'assistant', content: 'y' }] }, 'messages[0].role must be "system", "user" or "assistant"'],
    ['content parts', { messages: [{ role: 'user', content: [{ type: 'text' }] }, { role: 'assistant', content: 'y' }] }, 'messages[0].content must be a string, not an array'],
    ['a user turn last', { messages: [{ role: 'user', content: 'x' }, { role: 'user', content: 'y' }] }, "the last message must be the assistant's (the completion), not user's"],
    ['an empty answer', { messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: '' }] }, 'messages[1].content (the completion) is empty'],
    ['no user turn before the answer', { messages: [{ role: 'system', content: 'x' }, { role: 'assistant', content: 'y' }] }, "the message before the completion must be the user's, not system's"],
    ['alpaca without output', { instruction: 'x', input: '' }, '"output" is missing'],
    ['alpaca input of the wrong type', { instruction: 'x', input: 5, output: 'y' }, '"input" must be a string, not a number'],
  ] as const)('refuses %s', (_name, value, message) => {
    const result = readRecord(value);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toContain(message);
  });

  it('converts between shapes; each shape round-trips to itself', () => {
    const plain = (readRecord(JSON.parse(pc('P', 'C'))) as { record: DatasetRecord }).record;
    const withInput = (readRecord(JSON.parse(alpaca('I', 'X', 'O'))) as { record: DatasetRecord }).record;
    const multi = (readRecord(JSON.parse(chat(['system', 'S'], ['user', 'U1'], ['assistant', 'A1'], ['user', 'U2'], ['assistant', 'A2']))) as { record: DatasetRecord }).record;
    expect(toShape(plain, 'prompt-completion')).toEqual({ prompt: 'P', completion: 'C' });
    expect(toShape(plain, 'messages')).toEqual({ messages: [{ role: 'user', content: 'P' }, { role: 'assistant', content: 'C' }] });
    expect(toShape(plain, 'alpaca')).toEqual({ instruction: 'P', input: '', output: 'C' });
    expect(toShape(withInput, 'alpaca')).toEqual({ instruction: 'I', input: 'X', output: 'O' });
    expect(toShape(withInput, 'prompt-completion')).toEqual({ prompt: 'I\n\nX', completion: 'O' });
    expect(JSON.stringify(toShape(multi, 'messages'))).toBe(chat(['system', 'S'], ['user', 'U1'], ['assistant', 'A1'], ['user', 'U2'], ['assistant', 'A2']));
    // Shapes without turns carry the context in the prompt, labelled.
    expect(flatPrompt(multi)).toBe('System: S\n\nUser: U1\n\nAssistant: A1\n\nUser: U2');
    expect(toPromptCompletion(multi)).toEqual({ prompt: 'System: S\n\nUser: U1\n\nAssistant: A1\n\nUser: U2', completion: 'A2' });
    for (const [record, format] of [[plain, 'prompt-completion'], [withInput, 'alpaca'], [multi, 'messages']] as const) {
      const again = readRecord(toShape(record, format));
      expect(again).toEqual({ ok: true, format, record });
    }
  });

  it('gives the same example the same identity in any shape, whatever its kind', () => {
    const a = (readRecord(JSON.parse(alpaca('Do it', 'now', 'done'))) as { record: DatasetRecord }).record;
    const b = (readRecord(JSON.parse(pc('Do it\n\nnow', 'done', { kind: 'code' }))) as { record: DatasetRecord }).record;
    const c = (readRecord(JSON.parse(chat(['user', 'Do it\n\nnow'], ['assistant', 'done']))) as { record: DatasetRecord }).record;
    expect(identityText(a)).toBe(identityText(b));
    expect(identityText(c)).toBe(identityText(b));
    expect(identityText({ ...a, completion: 'other' })).not.toBe(identityText(a));
  });
});

describe('dataset reader: files', () => {
  const FILE = `\uFEFF${pc('a', 'b')}\r\n\r\n${pc('é ✓ 𝄞', 'ü')}\r\n   \n${pc('c', 'd')}`; // BOM, CRLF, blank lines, no final newline

  it('reads JSONL with a BOM, CRLF, blank lines and multi-byte text the same in any chunking', () => {
    const whole = read(FILE);
    expect(whole.errors).toEqual([]);
    expect(whole.records.map((r) => [r.line, r.record.prompt])).toEqual([
      [1, 'a'],
      [3, 'é ✓ 𝄞'],
      [5, 'c'],
    ]);
    expect(whole.reader).toMatchObject({ container: 'jsonl', format: 'prompt-completion', records: 3, valid: 3, invalid: 0 });
    for (const chunk of [1, 2, 3, 5, 7]) expect(read(FILE, chunk).records).toEqual(whole.records);
  });

  it('reads a JSON array of records (pretty-printed, strings with brackets and escapes) with each element at its line', () => {
    const text = `[\n  ${pc('a [x] {y}', 'b "quoted" \\\\ ]')},\n  {\n    "instruction": "ignored shape?",\n    "output": "x"\n  },\n  ${pc('c', 'd')}\n]\n`;
    for (const chunk of [1, 4, 1 << 20]) {
      const { records, errors, reader } = read(text, chunk);
      expect(reader.container).toBe('json-array');
      expect(records.map((r) => [r.line, r.record.prompt, r.record.completion])).toEqual([
        [2, 'a [x] {y}', 'b "quoted" \\\\ ]'],
        [7, 'c', 'd'],
      ]);
      expect(errors).toEqual([{ line: 3, message: 'mixed shapes: this record is alpaca, but the file is prompt-completion (from line 2)' }]);
    }
  });

  it.each([
    ['an element that is not an object', `[${pc('a', 'b')}, 5]`, [{ line: 1, message: 'expected a JSON object, got a number' }]],
    ['a trailing comma', `[${pc('a', 'b')},\n]`, [{ line: 2, message: 'invalid JSON (a comma before "]")' }]],
    ['a missing comma', `[${pc('a', 'b')}\n${pc('c', 'd')}]`, [{ line: 2, message: 'invalid JSON: expected "," or "]" after the element of line 1' }]],
    ['content after the array', `[${pc('a', 'b')}]\n{}`, [{ line: 2, message: 'invalid JSON: there is more after the end of the array' }]],
    ['an array that never closes', `[${pc('a', 'b')},\n`, [{ line: 2, message: 'the JSON array is not closed: "]" is missing at the end' }]],
    ['a cut-off element', `[${pc('a', 'b')},\n{"prompt": "x`, [{ line: 2, message: 'the element that starts on line 2 is cut off: the file ends inside it' }]],
  ])('reports %s in a JSON array', (_name, text, errors) => {
    expect(read(text, 3).errors).toEqual(errors);
  });

  it('reports every bad line with its number and reason, and keeps reading', () => {
    const lines = [
      pc('ok', 'fine'),
      '{"prompt": "unfinished",',
      JSON.stringify({ prompt: 'x' }),
      JSON.stringify({ prompt: '', completion: 'y' }),
      JSON.stringify({ prompt: 1, completion: 'y' }),
      chat(['user', 'u'], ['assistant', 'a']),
      pc('x'.repeat(200), 'too long for a 100-byte limit'),
      pc('ok again', 'fine'),
    ];
    const { records, errors } = read(lines.join('\n'), 16, 100);
    expect(records.map((r) => r.line)).toEqual([1, 8]);
    expect(errors.map((e) => e.line)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(errors[0]!.message).toMatch(/^invalid JSON \(/);
    expect(errors[1]!.message).toBe('"completion" is missing');
    expect(errors[2]!.message).toBe('"prompt" is empty');
    expect(errors[3]!.message).toBe('"prompt" must be a string, not a number');
    expect(errors[4]!.message).toBe('mixed shapes: this record is messages, but the file is prompt-completion (from line 1)');
    expect(errors[5]!.message).toBe('the line is 258 B, over the limit of 100 B');
  });

  it('drops an over-long line without keeping it, however it is chunked', () => {
    const long = pc('y'.repeat(5000), 'z');
    for (const chunk of [7, 64, 4096]) {
      const { records, errors } = read(`${pc('a', 'b')}\n${long}\n${pc('c', 'd')}\n`, chunk, 1000);
      expect(errors).toEqual([{ line: 2, message: 'the line is 4.9 KiB, over the limit of 1000 B' }]);
      expect(records.map((r) => r.line)).toEqual([1, 3]);
    }
  });

  it('finds the line with invalid UTF-8 and reads the others', () => {
    const bytes = new Uint8Array([...encode(`${pc('a', 'b')}\n{"prompt": "`), 0xc3, 0x28, ...encode(`", "completion": "x"}\n${pc('c', 'd')}\n`)]);
    for (const chunk of [5, 1 << 20]) {
      const { records, errors } = read(bytes, chunk);
      expect(errors).toEqual([{ line: 2, message: 'invalid UTF-8: the line has bytes that are not UTF-8 text' }]);
      expect(records.map((r) => r.line)).toEqual([1, 3]);
    }
  });

  it('refuses a binary file, UTF-16 text and an empty file as a whole', () => {
    const binary = read(new Uint8Array([0x7b, 0x0a, 0x00, 0x01, 0xff, 0x0a, ...encode(pc('a', 'b'))]));
    expect(binary.errors).toEqual([{ line: 2, message: 'this is a binary file, not JSON text (a NUL byte on this line)' }]);
    expect(binary.reader.fatal).toBe(true);
    expect(binary.records).toEqual([]);
    expect(read(new Uint8Array([0xff, 0xfe, 0x7b, 0x00])).errors).toEqual([{ line: 0, message: 'the file is UTF-16 text; save it as UTF-8' }]);
    expect(read('').errors).toEqual([{ line: 0, message: 'the file has no examples' }]);
    expect(read('\r\n \n\t\n').errors).toEqual([{ line: 0, message: 'the file has no examples' }]);
  });

  it('reads a whole file for the trainer through the same reader, in any shape', () => {
    const dir = makeTempDir();
    afterAll(() => dir.remove());
    const file = join(dir.path, 'chat.jsonl');
    writeFileSync(file, `${chat(['system', 'S'], ['user', 'U'], ['assistant', 'A'])}\n${chat(['user', 'V'], ['assistant', 'B'])}\n`);
    expect(readExamplesFile(file)).toEqual({
      examples: [
        { prompt: 'System: S\n\nUser: U', completion: 'A' },
        { prompt: 'V', completion: 'B' },
      ],
      errors: [],
      format: 'messages',
    });
    writeFileSync(file, `${alpaca('I', '', 'O')}\n{"instruction": 1}\n`);
    expect(readExamplesFile(file)).toMatchObject({ examples: [], errors: [{ line: 2, message: '"instruction" must be a string, not a number; "output" is missing' }] });
  });
});

describe('split', () => {
  it('holds out the rounded share, at least one of two or more when asked, never all of it', () => {
    expect(validationCount(100, 0.1)).toBe(10);
    expect(validationCount(15, 0.1)).toBe(2);
    expect(validationCount(4, 0.1)).toBe(1);
    expect(validationCount(4, 0)).toBe(0);
    expect(validationCount(1, 0.5)).toBe(0);
    expect(validationCount(2, 0.5)).toBe(1);
    expect(validationCount(0, 0.1)).toBe(0);
  });

  it('orders examples by content and seed only', () => {
    const hash = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
    expect(splitKey(hash, 42)).toBe(splitKey(Uint8Array.from(hash), 42));
    expect(splitKey(hash, 42)).not.toBe(splitKey(hash, 43));
    expect(splitKey(hash, 42)).toBeGreaterThanOrEqual(0);
  });
});
