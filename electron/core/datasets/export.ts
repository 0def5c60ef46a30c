import type { Store } from '../../../db/store';
import type { DatasetFormat } from '../../../shared/contract/datasets';
import { toShape } from '../../../shared/datasets/records';
import type { LineSink } from '../feedbackExport';

const PAGE_ROWS = 1000;

/** One JSONL line (with its newline) of an example in a shape. */
function line(example: Parameters<typeof toShape>[0], format: DatasetFormat): string {
  return `${JSON.stringify(toShape(example, format))}\n`;
}

/**
 * Lines of a dataset after example id `after`, up to about `maxBytes` characters (at least one line),
 * in stored order. `next` is the id to continue after, or null at the end.
 */
export function exportPage(store: Store, id: number, format: DatasetFormat, after: number, maxBytes: number): { text: string; count: number; next: number | null } {
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
