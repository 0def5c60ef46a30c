import { useState } from 'react';
import type { InstalledModel } from '../../../../shared/contract/models';
import { formatGB, useModels } from '../../stores/models';
import { NoticeLine } from '../NoticeLine';

const SOURCE_LABELS: Record<InstalledModel['source'], string> = { catalog: 'catalog', url: 'URL', import: 'imported' };

/** The installed models with their header facts, trainability and source; each row deletes after a confirmation. */
export function InstalledModelsTable() {
  const { models, folder, loaded, errors, deleteNotice } = useModels();
  return (
    <article className="card" aria-label="Installed models">
      <h2>Installed models</h2>
      {errors.installed && (
        <p className="error-text" role="alert">
          Could not list the models: {errors.installed}
        </p>
      )}
      {folder && (
        <p className="muted small">
          Models folder: <code>{folder}</code>
        </p>
      )}
      <NoticeLine notice={deleteNotice} testId="delete-notice" />
      {loaded.installed && models.length === 0 && <p className="muted">None yet: download one from the catalog or a URL, or import a GGUF file you have.</p>}
      {models.length > 0 && (
        <table className="models-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Size</th>
              <th>SHA-256</th>
              <th>Architecture</th>
              <th>File type</th>
              <th>Training</th>
              <th>Source</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {models.map((m) => (
              <InstalledRow key={m.id} model={m} />
            ))}
          </tbody>
        </table>
      )}
    </article>
  );
}

function InstalledRow({ model }: { model: InstalledModel }) {
  const remove = useModels((s) => s.remove);
  const [confirming, setConfirming] = useState(false);
  return (
    <tr data-testid={`model-row-${model.id}`} className={model.missing ? 'missing' : undefined}>
      <td>
        <div className="model-name">{model.name}</div>
        <div className="muted small mono path" title={model.path}>
          {model.path}
        </div>
        {model.missing && (
          <span className="badge danger" data-testid="model-missing">
            file missing
          </span>
        )}
      </td>
      <td className="nowrap">{formatGB(model.sizeBytes)}</td>
      <td className="mono" title={model.sha256}>
        {model.sha256.slice(0, 12)}…
      </td>
      <td>{model.architecture}</td>
      <td>{model.fileType}</td>
      <td data-testid="model-trainable">
        {model.trainable ? (
          'trainable'
        ) : (
          <>
            <span className="badge warn">generation only</span>
            {model.trainReason && <div className="muted small">{model.trainReason}</div>}
          </>
        )}
      </td>
      <td>{SOURCE_LABELS[model.source]}</td>
      <td>
        {confirming ? (
          <div className="inline confirm" role="alertdialog" aria-label={`Delete ${model.name}?`}>
            <span>
              {model.managed
                ? `Delete ${model.name} and its file from the models folder?`
                : `Remove ${model.name} from the list? Its file is outside the models folder and stays where it is.`}
            </span>
            <button className="danger" onClick={() => void remove(model).then(() => setConfirming(false))}>
              {model.managed ? 'Delete' : 'Remove'}
            </button>
            <button onClick={() => setConfirming(false)}>Keep</button>
          </div>
        ) : (
          <button onClick={() => setConfirming(true)} aria-label={`Delete ${model.name}`}>
            Delete
          </button>
        )}
      </td>
    </tr>
  );
}
