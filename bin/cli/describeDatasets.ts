import type { DatasetDetail, DatasetSummary, ImportOutcome, ImportProgress, ImportReport } from '../../shared/contract/datasets';
import { formatBytes } from '../../shared/format';

/** Errors shown on a terminal; --json has every one the report keeps. */
const SHOWN_ERRORS = 50;

const count = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en')} ${n === 1 ? one : many}`;

/** The bad records as `FILE:LINE: reason` lines, as compilers print them. */
export function describeErrors(report: ImportReport, path: string): string {
  const lines = report.errors.slice(0, SHOWN_ERRORS).map((e) => (e.line > 0 ? `${path}:${e.line}: ${e.message}` : `${path}: ${e.message}`));
  const more = report.invalid - Math.min(report.errors.length, SHOWN_ERRORS);
  if (more > 0) lines.push(`… and ${count(more, 'more bad record')}${report.invalid > report.errors.length ? '' : ' (--json lists them)'}`);
  return lines.join('\n');
}

/** One line of counts: examples, split, tokens, duplicates. */
export function describeStats(d: DatasetSummary): string {
  const parts = [
    count(d.examples, 'example'),
    `split ${d.train.toLocaleString('en')} train / ${d.validation.toLocaleString('en')} validation (seed ${d.seed}${d.stratified ? ', stratified by kind' : ''})`,
    d.tokens === null ? 'tokens not counted' : `${d.tokens.toLocaleString('en')} tokens (${d.tokenizer})`,
    `duplicates: ${d.duplicates.within} within, ${d.duplicates.across} in other datasets${d.duplicates.dropped ? `, ${d.duplicates.dropped} dropped` : ''}`,
  ];
  if (d.skipped) parts.push(`${count(d.skipped, 'bad record')} skipped`);
  return parts.join('; ');
}

export function describeOutcome(outcome: ImportOutcome, path: string): string {
  switch (outcome.status) {
    case 'imported': {
      const d = outcome.dataset;
      const what = d.source === 'file' ? `${d.format} ${d.container === 'json-array' ? 'JSON array' : 'JSONL'}, ${formatBytes(outcome.report.bytes)}` : 'from feedback';
      const lines = [`Imported dataset "${d.name}" (id ${d.id}, ${what})`, describeStats(d)];
      if (outcome.report.invalid) lines.push('Skipped records (the report is kept with the dataset):', describeErrors(outcome.report, path));
      return lines.join('\n');
    }
    case 'duplicate':
      return `Already imported: the same content is dataset "${outcome.dataset.name}" (id ${outcome.dataset.id}); nothing changed.`;
    case 'refused':
      return [outcome.reason, describeErrors(outcome.report, path)].filter(Boolean).join('\n');
  }
}

export function describeList(datasets: readonly DatasetSummary[]): string {
  if (datasets.length === 0) return 'No datasets yet. Import one with: architect import FILE.jsonl';
  const rows = datasets.map((d) => [
    String(d.id),
    d.name,
    d.source === 'file' ? (d.sourceFile ?? '') : 'feedback',
    d.examples.toLocaleString('en'),
    `${d.train}/${d.validation}`,
    d.tokens === null ? '—' : d.tokens.toLocaleString('en'),
    String(d.duplicates.within + d.duplicates.across),
    d.createdAt.slice(0, 16).replace('T', ' '),
  ]);
  const header = ['id', 'name', 'source', 'examples', 'train/val', 'tokens', 'dups', 'created'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function describeDetail(d: DatasetDetail): string {
  const lines = [
    `Dataset "${d.name}" (id ${d.id}), ${d.source === 'file' ? `imported from ${d.sourceFile} (${d.format}, ${d.container})` : 'built from feedback'} on ${d.createdAt}`,
    describeStats(d),
    `Content hash ${d.contentHash}`,
    ...d.byKind.map((k) => `  ${(k.kind ?? 'unknown kind').padEnd(14)} ${k.train} train, ${k.validation} validation`),
  ];
  if (d.filters) lines.push(`Filters: ${JSON.stringify(d.filters)}`);
  if (d.duplicatesAcrossNow !== d.duplicates.across) lines.push(`Now ${d.duplicatesAcrossNow} examples are also in other datasets.`);
  if (d.report?.invalid) lines.push('Skipped records:', describeErrors(d.report, d.sourceFile ?? d.name));
  return lines.join('\n');
}

/** A progress line: phase, share done, records so far. */
export function describeProgress(p: ImportProgress): string {
  const share = p.total > 0 ? ` ${Math.floor((p.done / p.total) * 100)}%` : '';
  const records = p.phase === 'checking' ? '' : ` (${count(p.records, 'record')}, ${p.invalid} bad)`;
  return `${p.phase}${share}${records}`;
}
