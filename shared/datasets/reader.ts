import type { DatasetContainer, DatasetFormat } from '../contract/datasets';
import { readRecord } from './records';
import { ArraySplitter, concat, copyOf, isSpace, LineSplitter, NEWLINE } from './splitters';
import type { DatasetRecord } from './records';

/** The longest record (line, or element of a JSON array) read, in bytes. Default 4 MiB. */
export const MAX_RECORD_BYTES = 4 * 1024 * 1024;

/** How many bytes at the start of a file are checked for binary content. */
const HEAD_BYTES = 8192;

export interface ReaderSink {
  /** A good record and its line (1-based). */
  record(line: number, record: DatasetRecord): void;
  /** A bad record (or, on line 0, the file as a whole) and why. */
  error(line: number, message: string): void;
}

export interface ReaderOptions {
  /** Records longer than this many bytes are reported, not read. Default MAX_RECORD_BYTES. */
  readonly maxRecordBytes?: number;
}

/**
 * Reads a dataset file fed in chunks of bytes, in constant memory: JSONL (one object per line) or a
 * JSON array of objects (decided by the first character), UTF-8 with or without a BOM, LF or CRLF.
 * Every record is checked as it arrives (JSON, shape, fields, size, UTF-8) and reported to the sink
 * with its line number. The file's shape is that of its first record of a known shape; a record of
 * another shape is an error. A file that cannot be text (NUL bytes at the start, UTF-16) or a JSON
 * array whose structure breaks stops the reading: `fatal` turns true and later chunks are ignored.
 */
export class DatasetReader {
  container: DatasetContainer | null = null;
  format: DatasetFormat | null = null;
  /** Bytes fed so far. */
  bytes = 0;
  /** Records (non-blank lines or array elements) seen. */
  records = 0;
  valid = 0;
  /** Errors reported (records and file-level). */
  invalid = 0;
  fatal = false;

  private formatLine = 0;
  private head: Uint8Array[] | null = [];
  private headBytes = 0;
  private splitter: LineSplitter | ArraySplitter | undefined;
  private readonly maxRecordBytes: number;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  constructor(
    private readonly sink: ReaderSink,
    options: ReaderOptions = {},
  ) {
    this.maxRecordBytes = options.maxRecordBytes ?? MAX_RECORD_BYTES;
  }

  push(chunk: Uint8Array): void {
    if (this.fatal || chunk.length === 0) return;
    this.bytes += chunk.length;
    if (this.head) {
      this.head.push(copyOf(chunk));
      this.headBytes += chunk.length;
      if (this.headBytes < HEAD_BYTES) return;
      return this.startWith(concat(this.head, this.headBytes));
    }
    this.splitter!.push(chunk);
  }

  /** Call once after the last chunk. */
  end(): void {
    if (this.head) this.startWith(concat(this.head, this.headBytes));
    if (!this.fatal) this.splitter?.end();
    if (!this.fatal && this.records === 0 && this.invalid === 0) this.fail(0, 'the file has no examples');
  }

  private startWith(bytes: Uint8Array): void {
    this.head = null;
    let start = 0;
    if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
    else if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
      return this.stop(0, 'the file is UTF-16 text; save it as UTF-8');
    }
    const nul = bytes.subarray(0, HEAD_BYTES).indexOf(0);
    if (nul >= 0) {
      const line = 1 + countNewlines(bytes, start, nul);
      return this.stop(line, 'this is a binary file, not JSON text (a NUL byte on this line)');
    }
    let first = start;
    while (first < bytes.length && isSpace(bytes[first]!)) first++;
    this.container = bytes[first] === 0x5b /* [ */ ? 'json-array' : 'jsonl';
    const text = (line: number, body: string) => this.text(line, body);
    const bad = (line: number, message: string) => this.fail(line, message);
    this.splitter =
      this.container === 'jsonl'
        ? new LineSplitter(this.maxRecordBytes, this.decoder, text, bad)
        : new ArraySplitter(this.maxRecordBytes, this.decoder, text, bad, (line, message) => this.stop(line, message));
    this.splitter.push(bytes.subarray(start));
  }

  /** One record's text (blank lines never arrive here). */
  private text(line: number, body: string): void {
    this.records++;
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch (error) {
      const reason = body.includes('\u0000') ? 'binary data (a NUL byte)' : (error as Error).message;
      return this.fail(line, `invalid JSON (${reason})`);
    }
    const result = readRecord(value);
    if (result.format && !this.format) {
      this.format = result.format;
      this.formatLine = line;
    }
    if (result.format && result.format !== this.format) {
      return this.fail(line, `mixed shapes: this record is ${result.format}, but the file is ${this.format} (from line ${this.formatLine})`);
    }
    if (!result.ok) return this.fail(line, result.message);
    this.valid++;
    this.sink.record(line, result.record);
  }

  private fail(line: number, message: string): void {
    this.invalid++;
    this.sink.error(line, message);
  }

  private stop(line: number, message: string): void {
    this.fail(line, message);
    this.fatal = true;
  }
}

function countNewlines(bytes: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let i = bytes.indexOf(NEWLINE, from); i >= 0 && i < to; i = bytes.indexOf(NEWLINE, i + 1)) n++;
  return n;
}
