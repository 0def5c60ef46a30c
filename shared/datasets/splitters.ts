// The byte level of dataset files: where records start and end, in constant memory. Used by reader.ts.
import { utf8Length } from '../contract/validation';
import { formatBytes } from '../format';

export const NEWLINE = 0x0a;
export const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/** A copy that owns its memory (a Node Buffer's slice() would share the caller's, which it reuses). */
export function copyOf(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

export function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export type TextSink = (line: number, text: string) => void;
export type ErrorSink = (line: number, message: string) => void;

/**
 * JSONL: splits bytes into lines. Whole lines of a chunk are decoded in one go (the fast path); when
 * that fails, line by line to find the ones that are not UTF-8. A line longer than the limit is not
 * kept: its bytes are counted and dropped until its end.
 */
export class LineSplitter {
  private line = 0;
  private carry: Uint8Array[] = [];
  private carryBytes = 0;
  private overflowing = false;

  constructor(
    private readonly maxBytes: number,
    private readonly decoder: TextDecoder,
    private readonly onText: TextSink,
    private readonly onError: ErrorSink,
  ) {}

  push(chunk: Uint8Array): void {
    let start = 0;
    if (this.carryBytes > 0 || this.overflowing) {
      const newline = chunk.indexOf(NEWLINE);
      if (newline < 0) return this.keep(chunk);
      this.keep(chunk.subarray(0, newline));
      this.finishCarried();
      start = newline + 1;
    }
    const last = chunk.lastIndexOf(NEWLINE);
    if (last >= start) {
      this.block(chunk.subarray(start, last + 1));
      start = last + 1;
    }
    if (start < chunk.length) this.keep(chunk.subarray(start));
  }

  end(): void {
    if (this.carryBytes > 0 || this.overflowing) this.finishCarried();
  }

  /** Part of the line under way. */
  private keep(bytes: Uint8Array): void {
    this.carryBytes += bytes.length;
    if (this.overflowing) return;
    if (this.carryBytes > this.maxBytes) {
      this.overflowing = true;
      this.carry = [];
      return;
    }
    this.carry.push(copyOf(bytes));
  }

  private finishCarried(): void {
    const size = this.carryBytes;
    const bytes = this.overflowing ? null : concat(this.carry, size);
    this.carry = [];
    this.carryBytes = 0;
    this.overflowing = false;
    this.line++;
    if (!bytes) return this.onError(this.line, `the line is ${formatBytes(size)}, over the limit of ${formatBytes(this.maxBytes)}`);
    this.one(bytes);
  }

  /** Complete lines, each ending with a newline. */
  private block(bytes: Uint8Array): void {
    let text: string;
    try {
      text = this.decoder.decode(bytes);
    } catch {
      for (let from = 0; from < bytes.length; ) {
        const end = bytes.indexOf(NEWLINE, from);
        this.line++;
        this.one(bytes.subarray(from, end));
        from = end + 1;
      }
      return;
    }
    let from = 0;
    for (let end = text.indexOf('\n'); end >= 0; from = end + 1, end = text.indexOf('\n', from)) {
      this.line++;
      let body = text.slice(from, end);
      if (body.length > this.maxBytes || (body.length * 3 > this.maxBytes && utf8Length(body) > this.maxBytes)) {
        this.onError(this.line, `the line is ${formatBytes(utf8Length(body))}, over the limit of ${formatBytes(this.maxBytes)}`);
        continue;
      }
      if (body.charCodeAt(body.length - 1) === 0x0d) body = body.slice(0, -1);
      if (isBlank(body)) continue;
      this.onText(this.line, body);
    }
  }

  /** One line's bytes (without its newline). */
  private one(bytes: Uint8Array): void {
    if (bytes.length > this.maxBytes) return this.onError(this.line, `the line is ${formatBytes(bytes.length)}, over the limit of ${formatBytes(this.maxBytes)}`);
    let body: string;
    try {
      body = this.decoder.decode(bytes);
    } catch {
      return this.onError(this.line, 'invalid UTF-8: the line has bytes that are not UTF-8 text');
    }
    if (body.charCodeAt(body.length - 1) === 0x0d) body = body.slice(0, -1);
    if (!isBlank(body)) this.onText(this.line, body);
  }
}

function isBlank(text: string): boolean {
  if (text.length === 0) return true;
  const c = text.charCodeAt(0);
  return (c === 0x20 || c === 0x09 || c === 0x0d) && text.trim() === '';
}

type ArrayState = 'open' | 'value' | 'inValue' | 'after' | 'done' | 'stopped';

/**
 * A JSON array of records: finds where each element starts and ends (tracking strings, escapes and
 * nesting) and hands each element's text on with the line it starts on. A structure error (a missing
 * comma, content after the array, an array that never closes) stops the reading.
 */
export class ArraySplitter {
  private state: ArrayState = 'open';
  private line = 1;
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** A value that is not an object or array (a number, a literal): ends at a delimiter. */
  private bare = false;
  private afterComma = false;
  private valueLine = 0;
  private parts: Uint8Array[] = [];
  private valueBytes = 0;
  private overflowing = false;

  constructor(
    private readonly maxBytes: number,
    private readonly decoder: TextDecoder,
    private readonly onText: TextSink,
    private readonly onError: ErrorSink,
    private readonly onStop: ErrorSink,
  ) {}

  push(chunk: Uint8Array): void {
    let valueStart = this.state === 'inValue' ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.state === 'inValue') {
        if (this.inString) {
          if (b === NEWLINE) this.line++;
          if (this.escaped) this.escaped = false;
          else if (b === 0x5c /* \ */) this.escaped = true;
          else if (b === 0x22 /* " */) {
            this.inString = false;
            if (this.depth === 0) {
              this.take(chunk.subarray(valueStart, i + 1));
              this.finishValue();
            }
          }
          continue;
        }
        if (this.bare) {
          if (b === 0x2c || b === 0x5d || isSpace(b)) {
            this.take(chunk.subarray(valueStart, i));
            this.finishValue();
            i--; // the delimiter is handled in the 'after' state
          }
          continue;
        }
        if (b === NEWLINE) this.line++;
        else if (b === 0x22) this.inString = true;
        else if (b === 0x7b || b === 0x5b) this.depth++;
        else if (b === 0x7d || b === 0x5d) {
          this.depth--;
          if (this.depth === 0) {
            this.take(chunk.subarray(valueStart, i + 1));
            this.finishValue();
          }
        }
        continue;
      }
      if (b === NEWLINE) this.line++;
      if (isSpace(b)) continue;
      switch (this.state) {
        case 'open':
          this.state = 'value';
          break; // the '[' (the reader chose this splitter for it)
        case 'value':
          if (b === 0x5d /* ] */) {
            if (this.afterComma) this.onError(this.line, 'invalid JSON (a comma before "]")');
            this.state = 'done';
            break;
          }
          this.state = 'inValue';
          this.valueLine = this.line;
          valueStart = i;
          this.depth = b === 0x7b || b === 0x5b ? 1 : 0;
          this.inString = b === 0x22;
          this.bare = !this.inString && this.depth === 0;
          break;
        case 'after':
          if (b === 0x2c /* , */) {
            this.state = 'value';
            this.afterComma = true;
          } else if (b === 0x5d) this.state = 'done';
          else return this.stop(`invalid JSON: expected "," or "]" after the element of line ${this.valueLine}`);
          break;
        case 'done':
          return this.stop('invalid JSON: there is more after the end of the array');
        case 'stopped':
          return;
      }
    }
    if (this.state === 'inValue') this.take(chunk.subarray(valueStart), true);
  }

  end(): void {
    if (this.state === 'inValue' && this.bare) this.finishValue();
    if (this.state === 'done' || this.state === 'stopped') return;
    if (this.state === 'inValue') return this.stop(`the element that starts on line ${this.valueLine} is cut off: the file ends inside it`);
    this.stop('the JSON array is not closed: "]" is missing at the end');
  }

  private take(bytes: Uint8Array, copy = false): void {
    this.valueBytes += bytes.length;
    if (this.overflowing) return;
    if (this.valueBytes > this.maxBytes) {
      this.overflowing = true;
      this.parts = [];
      return;
    }
    this.parts.push(copy ? copyOf(bytes) : bytes);
  }

  private finishValue(): void {
    const size = this.valueBytes;
    const bytes = this.overflowing ? null : concat(this.parts, size);
    this.parts = [];
    this.valueBytes = 0;
    this.overflowing = false;
    this.state = 'after';
    this.afterComma = false;
    if (!bytes) return this.onError(this.valueLine, `the element is ${formatBytes(size)}, over the limit of ${formatBytes(this.maxBytes)}`);
    let text: string;
    try {
      text = this.decoder.decode(bytes);
    } catch {
      return this.onError(this.valueLine, 'invalid UTF-8: the element has bytes that are not UTF-8 text');
    }
    this.onText(this.valueLine, text);
  }

  private stop(message: string): void {
    this.state = 'stopped';
    this.onStop(this.line, message);
  }
}
