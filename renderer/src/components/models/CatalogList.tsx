import type { CatalogItem } from '../../../../shared/contract/models';
import { FIT_LABELS, formatGB, useModels } from '../../stores/models';

/** The catalog: a card per model, with each quant's size, whether it fits this machine, and a download button. */
export function CatalogList() {
  const { catalog, loaded, errors } = useModels();
  return (
    <section className="catalog" aria-label="Catalog">
      <h2 className="section-title">Catalog</h2>
      {errors.catalog && (
        <p className="error-text" role="alert">
          Could not load the catalog: {errors.catalog}
        </p>
      )}
      {!loaded.catalog && !errors.catalog && <p className="muted">Loading the catalog…</p>}
      <div className="catalog-grid">
        {catalog.map((item) => (
          <CatalogCard key={item.id} item={item} />
        ))}
      </div>
    </section>
  );
}

function CatalogCard({ item }: { item: CatalogItem }) {
  const { download, downloads } = useModels();
  return (
    <article className="card catalog-card" aria-label={item.name} data-testid={`catalog-${item.id}`}>
      <header className="catalog-head">
        <h3>{item.name}</h3>
        {item.default && <span className="badge">default</span>}
      </header>
      <p className="muted small">
        {item.licence} · {item.architecture}
        {item.architecture !== 'llama' && ' (generation only: the trainer trains llama-architecture models)'} · {item.shape.layers} layers, context{' '}
        {item.shape.contextLength.toLocaleString()}
      </p>
      <p className="catalog-description">{item.description}</p>
      <table className="catalog-files">
        <thead>
          <tr>
            <th>Quant</th>
            <th>Size</th>
            <th>Fit</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {item.files.map((file) => {
            const running = downloads.find((d) => d.catalogId === item.id && d.quant === file.quant && (d.state === 'downloading' || d.state === 'verifying'));
            return (
              <tr key={file.quant} data-testid={`catalog-file-${item.id}-${file.quant}`}>
                <td>
                  {file.quant}
                  {file.bits === 4 && (
                    <span className="muted small" title="The base stays 4-bit while an adapter trains">
                      {' '}
                      QLoRA
                    </span>
                  )}
                </td>
                <td className="nowrap">{formatGB(file.sizeBytes)}</td>
                <td>
                  <span className={`fit ${file.fit.where}`} data-testid="fit">
                    {FIT_LABELS[file.fit.where]}
                  </span>
                  <div className="muted small">{file.fit.summary}</div>
                </td>
                <td>
                  {file.installedModelId !== null ? (
                    <button disabled>Installed</button>
                  ) : (
                    <button onClick={() => void download({ catalogId: item.id, quant: file.quant })} disabled={running !== undefined} aria-label={`Download ${item.name} ${file.quant}`}>
                      {running ? 'Downloading…' : 'Download'}
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </article>
  );
}
