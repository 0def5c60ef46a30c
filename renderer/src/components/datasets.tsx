import { useState } from 'react';
import type { FormEvent } from 'react';
import { DatasetFormat } from '../../../shared/contract/datasets';
import type { DatasetSummary, LineError } from '../../../shared/contract/datasets';
import { useDatasets } from '../stores/datasets';

/** The bad lines of a report, by line number. */
export function LineErrors({ report }: { report: { errors: LineError[]; invalid: number } }) {
  if (report.errors.length === 0) return null;
  return (
    <>
      <ul className="line-errors" aria-label="Import errors">
        {report.errors.map((e, i) => (
          <li key={`${e.line}-${i}`} data-testid="import-error">
            <span className="line-no">{e.line > 0 ? `Line ${e.line}` : 'File'}</span> {e.message}
          </li>
        ))}
      </ul>
      {report.invalid > report.errors.length && <p className="muted">… and {report.invalid - report.errors.length} more bad lines.</p>}
    </>
  );
}

/** Rename, delete (after a confirmation) and export, for a row or the detail view. */
export function DatasetActions({ dataset, onDeleted }: { dataset: DatasetSummary; onDeleted?: () => void }) {
  const { rename, remove, exportDataset } = useDatasets();
  const [mode, setMode] = useState<'idle' | 'rename' | 'delete'>('idle');
  const [name, setName] = useState(dataset.name);
  const [format, setFormat] = useState<DatasetFormat>('prompt-completion');
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (await rename(dataset.id, name)) setMode('idle');
  };
  if (mode === 'rename') {
    return (
      <form className="inline" onSubmit={(e) => void submit(e)} aria-label={`Rename ${dataset.name}`}>
        <input value={name} onChange={(e) => setName(e.target.value)} aria-label="New name" autoFocus />
        <button type="submit">Save</button>
        <button type="button" onClick={() => setMode('idle')}>
          Cancel
        </button>
      </form>
    );
  }
  if (mode === 'delete') {
    return (
      <div className="inline confirm" role="alertdialog" aria-label={`Delete ${dataset.name}?`}>
        <span>
          Delete “{dataset.name}” and its {dataset.examples} examples?
        </span>
        <button className="danger" onClick={() => void remove(dataset.id).then((ok) => ok && onDeleted?.())}>
          Delete
        </button>
        <button onClick={() => setMode('idle')}>Keep</button>
      </div>
    );
  }
  return (
    <div className="inline">
      <button onClick={() => (setName(dataset.name), setMode('rename'))}>Rename</button>
      <button onClick={() => setMode('delete')}>Delete</button>
      <select value={format} onChange={(e) => setFormat(e.target.value as DatasetFormat)} aria-label="Export format">
        {DatasetFormat.options.map((f) => (
          <option key={f} value={f}>
            {f}
          </option>
        ))}
      </select>
      <button onClick={() => void exportDataset(dataset, format)}>Export</button>
    </div>
  );
}
