import { writeFileSync } from 'node:fs';
import { buildScript } from './buildScript';

let worker: Promise<string> | undefined;

/** The dataset worker built from this tree's source (out/test-scripts/), once per test process. */
export function datasetWorker(): Promise<string> {
  worker ??= buildScript('electron/core/datasets/importWorker.ts');
  return worker;
}

const KINDS = ['erd', 'flowchart', 'sequence', 'api-doc', 'code'] as const;

/** Line `i` of a generated prompt/completion file: a distinct example with a kind, about 260 bytes. */
export function generatedLine(i: number): string {
  return JSON.stringify({
    prompt: `Generate an ERD for system ${i}: customers place orders, each order has line items and a shipping address.`,
    completion: `erDiagram\n  CUSTOMER_${i} ||--o{ ORDER : places\n  ORDER ||--|{ LINE_ITEM : contains\n  ORDER }o--|| ADDRESS : ships_to`,
    kind: KINDS[i % KINDS.length],
  });
}

/** Writes a JSONL file of `lines` generated examples, a block at a time (constant memory). */
export function writeGeneratedFile(path: string, lines: number): void {
  writeFileSync(path, '');
  const block = 10_000;
  for (let start = 0; start < lines; start += block) {
    const end = Math.min(lines, start + block);
    writeFileSync(path, `${Array.from({ length: end - start }, (_, k) => generatedLine(start + k)).join('\n')}\n`, { flag: 'a' });
  }
}
