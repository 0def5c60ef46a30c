import type { Store } from '../../../db/store';
import type { StoredExample } from '../../../db/datasets';
import type { DatasetFormat } from '../../../shared/contract/datasets';
import { toShape } from '../../../shared/datasets/records';
import { AppError } from '../../../shared/errors';
import { EncodedJson } from '../../../shared/rpc/protocol';
import type { LineSink } from '../feedbackExport';

const PAGE_ROWS = 1000;
/** Rows read per slice of an asynchronous page, and the time after which a slice gives the thread back. */
const SLICE_ROWS = 250;
const SLICE_MS = 4;

export interface ExportedPage {
  readonly text: string;
  readonly count: number;
  /** The example id to continue after, or null at the end. */
  readonly next: number | null;
}

/** One JSONL line (with its newline) of an example in a shape. */
function line(example: Parameters<typeof toShape>[0], format: DatasetFormat): string {
  return `${JSON.stringify(toShape(example, format))}\n`;
}

/**
 * Lines of a dataset after example id `after`, up to about `maxBytes` characters (at least one line),
 * in stored order. `next` is the id to continue after, or null at the end. Synchronous: for callers that
 * own their thread (the CLI's export); the contract's pages use exportPageEncoded.
 */
export function exportPage(store: Store, id: number, format: DatasetFormat, after: number, maxBytes: number): ExportedPage {
  let text = '';
  let count = 0;
  let last = after;
  for (;;) {
    const rows = store.datasets.after(id, last, PAGE_ROWS);
    for (const row of rows) {
      const next = line(row, format);
      if (count > 0 && text.length + next.length > maxBytes) return { text, count, next: last };
      text += next;
      count++;
      last = row.id;
    }
    if (rows.length < PAGE_ROWS) return { text, count, next: null };
  }
}

const yieldThread = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The same page as exportPage, built in slices of a few milliseconds that give the thread back in
 * between (one caller's 16 MiB page does not hold up another's small call), and encoded as the JSON of
 * the result while it is built, so a byte transport never serializes the whole page at once. Examples are
 * never changed once stored and are read in id order, so the slices read what one snapshot would (a
 * dataset deleted meanwhile ends the page early; the caller checks it still exists).
 */
export async function exportPageEncoded(
  store: Store,
  id: number,
  format: DatasetFormat,
  after: number,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<EncodedJson<ExportedPage>> {
  const encoder = new TextEncoder();
  const lines: string[] = [];
  const parts: Uint8Array[] = [encoder.encode('{"text":"')];
  let chars = 0;
  let last = after;
  let next: number | null = null;
  let ended = false;
  while (!ended) {
    if (signal?.aborted) throw new AppError('cancelled', 'The export was cancelled.');
    const started = performance.now();
    const escaped: string[] = [];
    while (performance.now() - started < SLICE_MS) {
      const rows: StoredExample[] = store.datasets.after(id, last, SLICE_ROWS);
      let full = false;
      for (const row of rows) {
        const text = line(row, format);
        if (lines.length > 0 && chars + text.length > maxBytes) {
          full = true;
          break;
        }
        lines.push(text);
        // A JSON string of the whole text is the concatenation of each line's, without their quotes.
        escaped.push(JSON.stringify(text).slice(1, -1));
        chars += text.length;
        last = row.id;
      }
      if (full) next = last;
      if (full || rows.length < SLICE_ROWS) {
        ended = true;
        break;
      }
    }
    if (escaped.length) parts.push(encoder.encode(escaped.join('')));
    if (!ended) await yieldThread();
  }
  parts.push(encoder.encode(`","count":${lines.length},"next":${next === null ? 'null' : next}}`));
  // The text as one string only for a transport that wants the value itself (joining 16 MiB takes a while).
  const count = lines.length;
  return new EncodedJson(() => ({ text: lines.join(''), count, next }), parts);
}

/** Every example of a dataset as JSONL in `format`, in stored order, in one read snapshot. Returns the count. */
export function exportDataset(store: Store, id: number, format: DatasetFormat, sink: LineSink): number {
  let count = 0;
  store.db.transaction(() => {
    for (let page = exportPage(store, id, format, 0, 1 << 20); ; page = exportPage(store, id, format, page.next!, 1 << 20)) {
      if (page.count) sink(page.text);
      count += page.count;
      if (page.next === null) break;
    }
  })();
  return count;
}
