import type { Store } from '../../../db/store';
import { toPromptCompletion } from '../../../shared/datasets/records';
import type { PromptCompletion } from '../../../shared/training/examples';

const PAGE_ROWS = 1000;

/** A stored dataset as the trainer takes it: its own seeded train/validation split, in stored order. */
export function trainingExamples(store: Store, id: number): { train: PromptCompletion[]; validation: PromptCompletion[] } {
  const train: PromptCompletion[] = [];
  const validation: PromptCompletion[] = [];
  store.db.transaction(() => {
    for (let after = 0; ; ) {
      const rows = store.datasets.after(id, after, PAGE_ROWS);
      for (const row of rows) (row.split === 'validation' ? validation : train).push(toPromptCompletion(row));
      if (rows.length < PAGE_ROWS) break;
      after = rows.at(-1)!.id;
    }
  })();
  return { train, validation };
}
