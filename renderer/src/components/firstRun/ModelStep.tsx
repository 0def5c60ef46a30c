import { useEffect, useState } from 'react';
import type { FormEvent } from 'react';
import { useGenerate } from '../../stores/generate';
import { useHardware } from '../../stores/hardware';
import { FIT_LABELS, formatGB, useModels } from '../../stores/models';
import { DownloadLine } from './DownloadLine';
import { preferredFile, summarizeMachine } from './machineSummary';

/** What the user chose in the model step, for the last step's summary. */
export type ModelChoice = { kind: 'download' | 'import' | 'ollama'; text: string };

/**
 * Step 2: a base model, three ways: the catalog's suggestion for this machine (or another catalog model),
 * downloaded with progress; a GGUF file on this machine, imported by its path; or a model of an Ollama server.
 */
export function ModelStep({ onChoice }: { onChoice: (choice: ModelChoice) => void }) {
  const { models, loaded, load } = useModels();
  useEffect(() => {
    void load();
  }, [load]);
  const installed = models.filter((m) => !m.missing);
  return (
    <div className="model-step">
      {loaded.installed && installed.length > 0 && (
        <p className="ok-text" data-testid="setup-installed">
          Installed: {installed.map((m) => `${m.name} (${m.path.split(/[\\/]/).pop()})`).join(', ')}. You can go on, or add another.
        </p>
      )}
      <CatalogChoice onChoice={onChoice} />
      <ImportChoice onChoice={onChoice} />
      <OllamaChoice onChoice={onChoice} />
    </div>
  );
}

function CatalogChoice({ onChoice }: { onChoice: (choice: ModelChoice) => void }) {
  const { catalog, loaded, errors, downloads, downloadNotice, download } = useModels();
  const info = useHardware((s) => s.info);
  const suggestion = info && loaded.catalog ? summarizeMachine(info, catalog).suggestion : undefined;
  const [picked, setPicked] = useState<string | undefined>(undefined);
  const id = picked ?? suggestion?.item.id ?? catalog.find((c) => c.default)?.id ?? catalog[0]?.id;
  const item = catalog.find((c) => c.id === id);
  const file = item ? preferredFile(item) : undefined;
  const current = item && file ? downloads.filter((d) => d.catalogId === item.id && d.quant === file.quant).sort((a, b) => b.id - a.id)[0] : undefined;
  const running = current && (current.state === 'downloading' || current.state === 'verifying');

  const start = async () => {
    if (!item || !file) return;
    if (await download({ catalogId: item.id, quant: file.quant })) onChoice({ kind: 'download', text: `${item.name} (${file.quant}, ${formatGB(file.sizeBytes)}) from the catalog` });
  };
  return (
    <section className="setup-choice" aria-labelledby="setup-catalog">
      <h3 id="setup-catalog">Download from the catalog</h3>
      {errors.catalog && (
        <p className="error-text" role="alert">
          The catalog could not be read: {errors.catalog}
        </p>
      )}
      {!loaded.catalog && !errors.catalog && <p className="muted">Reading the catalog…</p>}
      {catalog.length > 0 && (
        <label>
          Catalog model
          <select value={id} onChange={(e) => setPicked(e.target.value)} disabled={running}>
            {catalog.map((c) => {
              const f = preferredFile(c);
              return (
                <option key={c.id} value={c.id}>
                  {c.name}
                  {f ? ` — ${f.quant}, ${formatGB(f.sizeBytes)}, ${FIT_LABELS[f.fit.where]}` : ''}
                  {c.id === suggestion?.item.id ? ' (suggested for this machine)' : ''}
                </option>
              );
            })}
          </select>
        </label>
      )}
      {item && file && (
        <>
          <p className="muted small" data-testid="setup-fit">
            {item.description} {FIT_LABELS[file.fit.where]}: {file.fit.summary}. Licence: {item.licence}.
          </p>
          {current ? (
            <DownloadLine download={current} />
          ) : file.installedModelId !== null ? (
            <p className="ok-text">Installed as model {file.installedModelId}.</p>
          ) : (
            <button type="button" className="primary" onClick={() => void start()} disabled={file.fit.where === 'none'} title={file.fit.where === 'none' ? 'Too large for this machine' : undefined}>
              Download {item.name} ({formatGB(file.sizeBytes)})
            </button>
          )}
        </>
      )}
      {downloadNotice?.tone === 'error' && (
        <p className="error-text" role="alert">
          {downloadNotice.text}
        </p>
      )}
    </section>
  );
}

function ImportChoice({ onChoice }: { onChoice: (choice: ModelChoice) => void }) {
  const { importing, importNotice, importPath, clearNotice } = useModels();
  const [path, setPath] = useState('');
  useEffect(() => () => clearNotice('importNotice'), [clearNotice]);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const trimmed = path.trim();
    if (!trimmed) return;
    if (await importPath(trimmed)) onChoice({ kind: 'import', text: `the local file ${trimmed}` });
  };
  return (
    <form className="setup-choice" aria-labelledby="setup-import" onSubmit={(e) => void submit(e)}>
      <h3 id="setup-import">A GGUF file on this machine</h3>
      <div className="inline">
        <label className="grow">
          Path of a .gguf file on this machine
          <input className="mono" value={path} onChange={(e) => setPath(e.target.value)} placeholder="/models/llama-3-8b-instruct.Q4_K_M.gguf" spellCheck={false} />
        </label>
        <button type="submit" disabled={importing || path.trim() === ''}>
          {importing ? 'Importing… (reading and hashing the file)' : 'Import'}
        </button>
      </div>
      <p className="muted small">The file stays where it is; its header is read and its SHA-256 taken.</p>
      {importNotice && (
        <p className={importNotice.tone === 'error' ? 'error-text' : 'ok-text'} role={importNotice.tone === 'error' ? 'alert' : 'status'} data-testid="setup-import-notice">
          {importNotice.text}
        </p>
      )}
    </form>
  );
}

function OllamaChoice({ onChoice }: { onChoice: (choice: ModelChoice) => void }) {
  const { ollama, loaded, refreshOllama } = useModels();
  const setGenerate = useGenerate((s) => s.set);
  const [name, setName] = useState<string | undefined>(undefined);
  const [used, setUsed] = useState<string | undefined>(undefined);
  const models = ollama?.reachable ? ollama.models : [];
  const chosen = name ?? models[0]?.name;
  return (
    <section className="setup-choice" aria-labelledby="setup-ollama">
      <h3 id="setup-ollama">A model of an Ollama server</h3>
      {!loaded.ollama && <p className="muted">Asking Ollama…</p>}
      {ollama && !ollama.reachable && (
        <p className="muted" data-testid="setup-ollama-status">
          No Ollama server answers at <code>{ollama.host}</code>. Ollama is optional: the local models work without it (change its host in Settings).{' '}
          <button type="button" className="link" onClick={() => void refreshOllama()}>
            Check again
          </button>
        </p>
      )}
      {ollama?.reachable && models.length === 0 && <p className="muted">Ollama answers at {ollama.host} but has no models: pull one with `ollama pull NAME`.</p>}
      {models.length > 0 && (
        <div className="inline">
          <label>
            Ollama model
            <select value={chosen} onChange={(e) => setName(e.target.value)}>
              {models.map((m) => (
                <option key={m.name} value={m.name}>
                  {m.name} ({formatGB(m.sizeBytes)})
                </option>
              ))}
            </select>
          </label>
          <button
            type="button"
            onClick={() => {
              if (!chosen) return;
              setGenerate({ modelKey: `ollama:${chosen}` });
              setUsed(chosen);
              onChoice({ kind: 'ollama', text: `${chosen} from Ollama (for generation; training needs a local GGUF model)` });
            }}
          >
            Use it on the Generate page
          </button>
        </div>
      )}
      {used && <p className="ok-text" role="status">The Generate page has {used} selected in this window. Training needs a local model.</p>}
    </section>
  );
}
