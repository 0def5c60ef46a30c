import { useEffect } from 'react';
import type { DatasetDetail, DatasetExample } from '../../../shared/contract/datasets';
import { DatasetActions, LineErrors } from '../components/datasets';
import { KIND_LABELS } from '../components/feedback';
import { useDatasets } from '../stores/datasets';
import { useNavigation } from '../stores/navigation';
import { Row } from '../components/layout';

/** One dataset: its statistics, split by kind, a preview of its examples, and the skipped lines. */
export function DatasetView({ id }: { id: number }) {
  const { detail, preview, error, open, showSplit } = useDatasets();
  const openDataset = useNavigation((s) => s.openDataset);
  useEffect(() => {
    void open(id);
  }, [id, open]);
  const shown = detail?.id === id ? detail : undefined;
  return (
    <section>
      <header className="page-header">
        <h1>{shown ? shown.name : `Dataset #${id}`}</h1>
        <button onClick={() => openDataset(undefined)}>← Datasets</button>
      </header>
      {error && (
        <div className="banner error" role="alert">
          {error}
        </div>
      )}
      {shown && (
        <>
          <DatasetActions dataset={shown} onDeleted={() => openDataset(undefined)} />
          <Stats dataset={shown} />
          <article className="card preview" aria-label="Examples">
            <h2>Examples</h2>
            <div className="tabs" role="tablist">
              {([undefined, 'train', 'validation'] as const).map((split) => (
                <button key={split ?? 'all'} role="tab" aria-selected={preview?.split === split} onClick={() => void showSplit(split)}>
                  {split === undefined ? 'All' : split === 'train' ? 'Train' : 'Validation'}
                </button>
              ))}
            </div>
            {preview && (
              <>
                <p className="muted">
                  The first {preview.items.length} of {preview.total.toLocaleString()}
                </p>
                {preview.items.map((example) => (
                  <ExampleCard key={example.id} example={example} />
                ))}
              </>
            )}
          </article>
          {shown.report && shown.report.invalid > 0 && (
            <article className="card" aria-label="Skipped lines">
              <h2>Skipped lines</h2>
              <LineErrors report={shown.report} />
            </article>
          )}
        </>
      )}
    </section>
  );
}

function Stats({ dataset }: { dataset: DatasetDetail }) {
  return (
    <div className="cards">
      <article className="card" aria-label="Statistics">
        <h2>Statistics</h2>
        <Row label="Examples" value={dataset.examples.toLocaleString()} testId="detail-examples" />
        <Row label="Train / validation" value={`${dataset.train} / ${dataset.validation} (seed ${dataset.seed})`} testId="detail-split" />
        <Row label="Tokens" value={dataset.tokens === null ? 'not counted (no tokenizer model set)' : `${dataset.tokens.toLocaleString()} (${dataset.tokenizer})`} />
        <Row label="Duplicates in the file" value={dataset.duplicates.within} testId="detail-duplicates-within" />
        <Row label="Also in other datasets" value={dataset.duplicatesAcrossNow} />
        {dataset.duplicates.dropped > 0 && <Row label="Duplicates dropped" value={dataset.duplicates.dropped} />}
        {dataset.skipped > 0 && <Row label="Bad lines skipped" value={dataset.skipped} />}
      </article>
      <article className="card" aria-label="Source">
        <h2>Source</h2>
        <Row label="From" value={dataset.source === 'file' ? dataset.sourceFile : 'feedback'} />
        {dataset.format && <Row label="Shape" value={`${dataset.format}${dataset.container === 'json-array' ? ' (JSON array)' : ''}`} />}
        {dataset.filters && <Row label="Filters" value={describeFilters(dataset.filters)} />}
        <Row label="Added" value={new Date(dataset.createdAt).toLocaleString()} />
        <Row label="Content hash" value={<code>{dataset.contentHash.slice(0, 16)}…</code>} />
      </article>
      <article className="card" aria-label="Split by kind">
        <h2>Split {dataset.stratified ? 'by kind' : ''}</h2>
        {dataset.byKind.map((k) => (
          <Row key={k.kind ?? 'none'} label={k.kind ? KIND_LABELS[k.kind] : 'Kind not given'} value={`${k.train} / ${k.validation}`} />
        ))}
      </article>
    </div>
  );
}

function describeFilters(filters: NonNullable<DatasetDetail['filters']>): string {
  const parts = [filters.kind ? KIND_LABELS[filters.kind] : 'all kinds'];
  if (filters.minReward !== undefined) parts.push(`reward ≥ ${filters.minReward}`);
  if (filters.from) parts.push(`from ${new Date(filters.from).toLocaleDateString()}`);
  if (filters.to) parts.push(`before ${new Date(filters.to).toLocaleDateString()}`);
  return parts.join(', ');
}

function ExampleCard({ example }: { example: DatasetExample }) {
  return (
    <div className="example" data-testid="example-preview">
      <div className="muted">
        Line {example.line} · {example.split}
        {example.kind && ` · ${KIND_LABELS[example.kind]}`}
        {example.tokens !== null && ` · ${example.tokens} tokens`}
        {example.clipped && ' · shortened for the preview'}
      </div>
      {example.context.map((turn, i) => (
        <pre key={i} className="turn context">
          {turn.role}: {turn.content}
        </pre>
      ))}
      <pre className="turn prompt">
        {example.prompt}
        {example.input && `\n\n${example.input}`}
      </pre>
      <pre className="turn completion">{example.completion}</pre>
    </div>
  );
}
