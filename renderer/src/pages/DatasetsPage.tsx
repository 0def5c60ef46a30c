import { useEffect, useState } from 'react';
import type { ChangeEvent, FormEvent } from 'react';
import type { DatasetSummary, ImportOutcome } from '../../../shared/contract/datasets';
import type { ArtifactKind } from '../../../shared/contract/validation';
import { formatBytes } from '../../../shared/format';
import { DatasetActions, LineErrors } from '../components/datasets';
import { KindOptions } from '../components/feedback';
import { useDatasets } from '../stores/datasets';
import type { ImportJob } from '../stores/datasets';
import { useNavigation } from '../stores/navigation';
import { DatasetView } from './DatasetView';
import '../datasets.css';

/** Datasets: import by drop or pick, the import's progress and report, the list, and one dataset. */
export function DatasetsPage() {
  const datasetId = useNavigation((s) => s.datasetId);
  const { load, loadSettings } = useDatasets();
  useEffect(() => {
    void load();
    void loadSettings();
  }, [load, loadSettings]);
  return datasetId === undefined ? <DatasetList /> : <DatasetView id={datasetId} />;
}

function DatasetList() {
  const { list, status, error, job, options, setOptions, importFile } = useDatasets();
  const busy = job !== undefined && !['done', 'failed', 'cancelled'].includes(job.stage);
  const pick = (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    event.target.value = '';
    if (file) void importFile(file);
  };
  return (
    <section>
      <header className="page-header">
        <h1>Datasets</h1>
        <label className={`button${busy ? ' disabled' : ''}`}>
          Import a file…
          <input type="file" accept=".jsonl,.json,.ndjson" onChange={pick} disabled={busy} hidden aria-label="Import a dataset file" />
        </label>
      </header>
      <div className="toolbar">
        <label className="checkbox">
          <input type="checkbox" checked={options.skipInvalid} onChange={(e) => setOptions({ skipInvalid: e.target.checked })} /> Import the valid lines, skip
          invalid ones
        </label>
        <label className="checkbox">
          <input type="checkbox" checked={options.dropDuplicates} onChange={(e) => setOptions({ dropDuplicates: e.target.checked })} /> Drop duplicates
        </label>
      </div>
      <p className="muted">
        Drop a <code>.jsonl</code> or <code>.json</code> file anywhere on the window: one {'{"prompt", "completion"}'}, chat {'{"messages"}'} or Alpaca{' '}
        {'{"instruction", "input", "output"}'} record per line (or a JSON array of them). A file with a bad line is refused whole, unless you skip invalid
        lines.
      </p>
      {job && <ImportPanel job={job} />}
      {error && (
        <div className="banner error" role="alert">
          {error}
        </div>
      )}
      {status === 'ready' && list.length === 0 && <p className="muted">No datasets yet.</p>}
      {list.length > 0 && <DatasetTable list={list} />}
      <div className="cards dataset-tools">
        <BuildCard disabled={busy} />
        <TokenizerCard />
      </div>
    </section>
  );
}

const STAGES: Record<ImportJob['stage'], string> = {
  uploading: 'Sending the file',
  checking: 'Checking',
  reading: 'Reading and validating',
  saving: 'Saving',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled: nothing was imported',
};

function ImportPanel({ job }: { job: ImportJob }) {
  const { cancel, dismissJob } = useDatasets();
  const running = !['done', 'failed', 'cancelled'].includes(job.stage);
  const [done, total] =
    job.stage === 'uploading' ? [job.uploaded, job.size] : job.progress && job.progress.total > 0 ? [job.progress.done, job.progress.total] : [0, 0];
  return (
    <article className="card import" aria-label="Import">
      <div className="row">
        <span className="label">
          {job.source}
          {job.size > 0 && ` · ${formatBytes(job.size)}`}
        </span>
        <span className="value" data-testid="import-stage">
          {job.outcome?.status === 'refused' ? 'Refused: nothing was imported' : STAGES[job.stage]}
          {running && job.progress && ` · ${job.progress.records.toLocaleString()} records, ${job.progress.invalid} bad`}
        </span>
      </div>
      {running && (
        <>
          <div className="meter" role="progressbar" aria-label="Import progress" aria-valuemin={0} aria-valuemax={total || 1} aria-valuenow={done}>
            <div style={{ width: total ? `${(done / total) * 100}%` : '0%' }} />
          </div>
          <button onClick={cancel}>Cancel</button>
        </>
      )}
      {job.error && <p className="error-text">{job.error}</p>}
      {job.outcome && <Outcome outcome={job.outcome} />}
      {!running && (
        <button className="link" onClick={dismissJob}>
          Dismiss
        </button>
      )}
    </article>
  );
}

function Outcome({ outcome }: { outcome: ImportOutcome }) {
  const openDataset = useNavigation((s) => s.openDataset);
  if (outcome.status === 'duplicate') {
    return (
      <p data-testid="import-outcome">
        Already imported: this file is the dataset{' '}
        <button className="link" onClick={() => openDataset(outcome.dataset.id)}>
          {outcome.dataset.name}
        </button>
        . Nothing changed.
      </p>
    );
  }
  const { report } = outcome;
  return (
    <>
      {outcome.status === 'refused' ? (
        <p className="error-text" data-testid="import-outcome" role="alert">
          {outcome.reason}
        </p>
      ) : (
        <p data-testid="import-outcome">
          Imported{' '}
          <button className="link" onClick={() => openDataset(outcome.dataset.id)}>
            {outcome.dataset.name}
          </button>
          : {outcome.dataset.examples} examples{report.invalid > 0 && `, ${report.invalid} bad lines skipped (the report is kept with the dataset)`}.
        </p>
      )}
      <LineErrors report={report} />
    </>
  );
}

function DatasetTable({ list }: { list: DatasetSummary[] }) {
  const openDataset = useNavigation((s) => s.openDataset);
  return (
    <table className="datasets">
      <thead>
        <tr>
          <th>Name</th>
          <th>Source</th>
          <th>Examples</th>
          <th>Tokens</th>
          <th>Duplicates</th>
          <th>Train / validation</th>
          <th>Added</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {list.map((d) => (
          <tr key={d.id} data-testid={`dataset-row-${d.id}`}>
            <td>
              <button className="link" onClick={() => openDataset(d.id)}>
                {d.name}
              </button>
            </td>
            <td>{d.source === 'file' ? d.sourceFile : 'feedback'}</td>
            <td data-testid="dataset-examples">{d.examples.toLocaleString()}</td>
            <td data-testid="dataset-tokens">{d.tokens === null ? '—' : d.tokens.toLocaleString()}</td>
            <td data-testid="dataset-duplicates" title="within the file / also in another dataset">
              {d.duplicates.within} / {d.duplicates.across}
              {d.duplicates.dropped > 0 && ` (${d.duplicates.dropped} dropped)`}
            </td>
            <td data-testid="dataset-split">
              {d.train} / {d.validation}
            </td>
            <td className="muted">{new Date(d.createdAt).toLocaleString()}</td>
            <td>
              <DatasetActions dataset={d} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function BuildCard({ disabled }: { disabled: boolean }) {
  const { buildFromFeedback } = useDatasets();
  const [kind, setKind] = useState<ArtifactKind | ''>('');
  const [minReward, setMinReward] = useState('');
  const [name, setName] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void buildFromFeedback({
      ...(name.trim() ? { name: name.trim() } : {}),
      filters: { ...(kind ? { kind } : {}), ...(minReward.trim() ? { minReward: Number(minReward) } : {}) },
    });
  };
  return (
    <article className="card" aria-label="Build from feedback">
      <h2>Build from feedback</h2>
      <form className="settings" onSubmit={submit} aria-label="Build a dataset from feedback">
        <label>
          Kind
          <select value={kind} onChange={(e) => setKind(e.target.value as ArtifactKind | '')}>
            <option value="">All kinds</option>
            <KindOptions />
          </select>
        </label>
        <label>
          Minimum reward (default: the learning threshold)
          <input type="number" min={-1} max={1} step={0.05} value={minReward} onChange={(e) => setMinReward(e.target.value)} />
        </label>
        <label>
          Name (optional)
          <input value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <button type="submit" disabled={disabled}>
          Build dataset
        </button>
      </form>
    </article>
  );
}

function TokenizerCard() {
  const { settings, saveSettings } = useDatasets();
  const [path, setPath] = useState('');
  useEffect(() => setPath(settings?.tokenizerModel ?? ''), [settings?.tokenizerModel]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void saveSettings({ tokenizerModel: path.trim() || null });
  };
  return (
    <article className="card" aria-label="Token counts">
      <h2>Token counts</h2>
      <form className="settings" onSubmit={submit} aria-label="Tokenizer model">
        <label>
          Tokenizer model (a GGUF file on this machine; empty: no token counts)
          <input value={path} onChange={(e) => setPath(e.target.value)} placeholder="/models/codellama-7b.Q4_K_M.gguf" />
        </label>
        <button type="submit">Save</button>
      </form>
    </article>
  );
}
