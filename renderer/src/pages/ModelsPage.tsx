import { useEffect, useRef, useState } from 'react';
import type { ChangeEvent, FormEvent } from 'react';
import type { CatalogItem, Download, InstalledModel } from '../../../shared/contract/models';
import { formatBytes } from '../../../shared/format';
import { api } from '../api/client';
import { canLearnFilePaths } from '../api/files';
import { useDropZone } from '../components/useDropZone';
import { VersionsSection } from '../components/versions/VersionsSection';
import { FIT_LABELS, formatEta, formatGB, useModels } from '../stores/models';
import type { Notice } from '../stores/models';
import { messageOf } from '../stores/errors';
import '../models.css';

const SOURCE_LABELS: Record<InstalledModel['source'], string> = { catalog: 'catalog', url: 'URL', import: 'imported' };

/** Models: what is installed, downloads with progress, import (a chosen or dropped file, or a path), the catalog with fits, and Ollama. */
export function ModelsPage() {
  const load = useModels((s) => s.load);
  useEffect(() => {
    void load();
  }, [load]);

  // A .gguf dropped elsewhere on the page goes to the window's drop (components/FileDrop), which brings it to ImportLocalFile.
  return (
    <section className="models-page">
      <header className="page-header">
        <h1>Models</h1>
        <button onClick={() => void load()}>Refresh</button>
      </header>
      <InstalledModels />
      <VersionsSection />
      <div className="models-add">
        <DownloadFromUrl />
        <ImportLocalFile />
      </div>
      <Downloads />
      <Catalog />
      <OllamaCard />
    </section>
  );
}

function NoticeLine({ notice, testId }: { notice: Notice | undefined; testId: string }) {
  if (!notice) return null;
  return (
    <p className={notice.tone === 'error' ? 'error-text' : 'ok-text'} role={notice.tone === 'error' ? 'alert' : 'status'} data-testid={testId}>
      {notice.text}
    </p>
  );
}

function InstalledModels() {
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

function DownloadFromUrl() {
  const { download, downloadNotice } = useModels();
  const [uri, setUri] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!uri.trim() || busy) return;
    setBusy(true);
    if (await download({ uri: uri.trim() })) setUri('');
    setBusy(false);
  };
  return (
    <form className="card" aria-label="Download from URL" onSubmit={(e) => void submit(e)}>
      <h2>Download from URL</h2>
      <label>
        GGUF address
        <input
          className="mono"
          value={uri}
          onChange={(e) => setUri(e.target.value)}
          placeholder="https://…/model.Q4_K_M.gguf or hf:owner/repo/file.gguf"
          spellCheck={false}
        />
      </label>
      <div className="inline">
        <button type="submit" disabled={busy || !uri.trim()}>
          {busy ? 'Starting…' : 'Download'}
        </button>
      </div>
      <NoticeLine notice={downloadNotice} testId="download-notice" />
    </form>
  );
}

/**
 * Import a local GGUF where it lies. In the desktop app a file can be chosen or dropped on this card (the preload tells
 * its path); a browser page never learns a file's path, so there the path is typed. Every file drag over the card stops
 * here: the window's dataset drop (components/FileDrop) never sees it.
 */
function ImportLocalFile() {
  const { importPath, importFile, importing, importNotice } = useModels();
  const [path, setPath] = useState('');
  const picker = useRef<HTMLInputElement>(null);
  const desktop = canLearnFilePaths();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (path.trim() && (await importPath(path.trim()))) setPath('');
  };
  const pick = (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    event.target.value = ''; // the same file can be chosen again
    if (file) void importFile(file);
  };

  const { over, handlers } = useDropZone((file) => void importFile(file));

  return (
    <form
      className="card"
      aria-label="Import a local file"
      data-testid="import-drop"
      onSubmit={(e) => void submit(e)}
      {...handlers}
      style={over ? { outline: '2px dashed var(--accent)', outlineOffset: 2 } : undefined}
    >
      <h2>Import a local file</h2>
      {desktop && (
        <div className="inline">
          <button type="button" onClick={() => picker.current?.click()} disabled={importing}>
            Choose a .gguf file…
          </button>
          <input ref={picker} type="file" accept=".gguf" onChange={pick} hidden tabIndex={-1} aria-hidden="true" />
          <span className="muted small">{over ? 'Drop the .gguf file to import it' : 'or drop one on this card'}</span>
        </div>
      )}
      <label>
        Path of a .gguf file on this machine
        <input className="mono" value={path} onChange={(e) => setPath(e.target.value)} placeholder="/home/me/models/model.gguf" spellCheck={false} />
      </label>
      <div className="inline">
        <button type="submit" disabled={importing || !path.trim()}>
          {importing ? 'Importing… (reading its header and SHA-256)' : 'Import'}
        </button>
      </div>
      {desktop ? (
        <p className="muted small">The app reads the file’s header and takes its SHA-256; the file stays where it is.</p>
      ) : (
        <p className="muted small" data-testid="import-browser-note">
          The app reads the file’s header and takes its SHA-256. In a browser, choosing or dropping a .gguf file cannot import it: a web page does not learn a file’s
          path, so type the path here. Choosing or dropping a file works in the desktop app.
        </p>
      )}
      <NoticeLine notice={importNotice} testId="import-notice" />
    </form>
  );
}

const STATE_LABELS: Record<Download['state'], string> = {
  downloading: 'Downloading',
  paused: 'Paused',
  verifying: 'Verifying',
  done: 'Installed',
  failed: 'Failed',
  cancelled: 'Discarded',
};

function Downloads() {
  const { downloads, errors } = useModels();
  if (downloads.length === 0 && !errors.downloads) return null;
  return (
    <article className="card" aria-label="Downloads">
      <h2>Downloads</h2>
      {errors.downloads && (
        <p className="error-text" role="alert">
          Could not list the downloads: {errors.downloads}
        </p>
      )}
      <ul className="downloads">
        {downloads.map((d) => (
          <DownloadRow key={d.id} download={d} />
        ))}
      </ul>
    </article>
  );
}

function DownloadRow({ download: d }: { download: Download }) {
  const { acting, pause, resume, discard, dismissDownload, models } = useModels();
  const busy = acting.includes(d.id);
  const percent = d.totalBytes ? Math.min(100, (d.bytes / d.totalBytes) * 100) : undefined;
  const active = d.state === 'downloading' || d.state === 'verifying';
  const installed = d.modelId === null ? undefined : models.find((m) => m.id === d.modelId);
  return (
    <li className={`download ${d.state}`} data-testid={`download-${d.id}`}>
      <div className="download-head">
        <span className="download-name" title={d.uri}>
          {d.fileName}
        </span>
        <span className="download-state" data-testid="download-state">
          {STATE_LABELS[d.state]}
          {d.state === 'done' && installed && ` as ${installed.name}`}
        </span>
      </div>
      {(percent !== undefined ? d.state !== 'done' && d.state !== 'cancelled' : active) && (
        <div
          className="meter download-meter"
          role="progressbar"
          aria-label={`Download progress of ${d.fileName}`}
          aria-valuemin={0}
          aria-valuemax={d.totalBytes ?? undefined}
          aria-valuenow={d.bytes}
          aria-valuetext={percent === undefined ? `${formatBytes(d.bytes)} of an unknown size` : `${percent.toFixed(0)}%`}
        >
          <div style={{ width: percent === undefined ? '100%' : `${percent}%` }} className={percent === undefined ? 'indeterminate' : undefined} />
        </div>
      )}
      <div className="download-figures muted small">
        <span data-testid="download-bytes">
          {formatBytes(d.bytes)}
          {d.totalBytes !== null && ` of ${formatBytes(d.totalBytes)}`}
          {percent !== undefined && ` (${percent.toFixed(0)}%)`}
        </span>
        {d.state === 'downloading' && <span>{formatBytes(d.bytesPerSecond)}/s</span>}
        {d.state === 'downloading' && <span>ETA {formatEta(d.etaSeconds)}</span>}
      </div>
      {d.error && <p className="error-text small">{d.error}</p>}
      <div className="inline">
        {active && (
          <button onClick={() => void pause(d.id)} disabled={busy || d.state === 'verifying'} title="Stop for now; the partial file is kept to resume later">
            Pause
          </button>
        )}
        {(d.state === 'paused' || d.state === 'failed') && (
          <button onClick={() => void resume(d.id)} disabled={busy}>
            Resume
          </button>
        )}
        {d.state !== 'done' && d.state !== 'cancelled' && (
          <button className="danger" onClick={() => void discard(d.id)} disabled={busy} title="Stop and delete the partial file">
            Discard
          </button>
        )}
        {(d.state === 'done' || d.state === 'cancelled') && (
          <button className="link" onClick={() => dismissDownload(d.id)}>
            Dismiss
          </button>
        )}
      </div>
    </li>
  );
}

function Catalog() {
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

function OllamaCard() {
  const { ollama, errors, refreshOllama } = useModels();
  const [host, setHost] = useState<string | undefined>();
  const [hostNotice, setHostNotice] = useState<Notice | undefined>();
  const saveHost = async (event: FormEvent) => {
    event.preventDefault();
    if (!host?.trim()) return;
    try {
      await api.generation.setSettings({ ollamaHost: host.trim() });
      setHostNotice({ tone: 'ok', text: 'Saved.' });
      setHost(undefined);
      await refreshOllama();
    } catch (error) {
      setHostNotice({ tone: 'error', text: messageOf(error) });
    }
  };
  return (
    <article className="card ollama" aria-label="Ollama">
      <h2>Ollama</h2>
      {errors.ollama && (
        <p className="error-text" role="alert">
          Could not ask for the Ollama status: {errors.ollama}
        </p>
      )}
      {ollama && (
        <>
          <p data-testid="ollama-status">
            {ollama.reachable ? (
              <>
                <span className="ok-text">Reachable</span> at <code>{ollama.host}</code>
                {ollama.version && ` (Ollama ${ollama.version})`}: {ollama.models.length === 1 ? '1 model' : `${ollama.models.length} models`}.
              </>
            ) : (
              <>
                <span className="error-text">Not reachable</span> at <code>{ollama.host}</code>
                {ollama.error ? `: ${ollama.error.replace(/\.?\s*$/, '.')}` : '. Ollama is optional; the local models keep working.'}
              </>
            )}
          </p>
          {ollama.reachable && ollama.models.length > 0 && (
            <table className="models-table">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Size</th>
                  <th>Family</th>
                  <th>Parameters</th>
                  <th>Quantization</th>
                </tr>
              </thead>
              <tbody>
                {ollama.models.map((m) => (
                  <tr key={m.name}>
                    <td>{m.name}</td>
                    <td className="nowrap">{formatGB(m.sizeBytes)}</td>
                    <td>{m.family ?? '—'}</td>
                    <td>{m.parameterSize ?? '—'}</td>
                    <td>{m.quantization ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
      <form className="inline" onSubmit={(e) => void saveHost(e)} aria-label="Ollama host">
        <label className="inline-label">
          Host
          <input className="mono" value={host ?? ollama?.host ?? ''} onChange={(e) => setHost(e.target.value)} placeholder="http://127.0.0.1:11434" spellCheck={false} />
        </label>
        <button type="submit" disabled={host === undefined || !host.trim() || host.trim() === ollama?.host}>
          Save host
        </button>
        <button type="button" onClick={() => void refreshOllama()}>
          Check again
        </button>
        {hostNotice && <NoticeLine notice={hostNotice} testId="ollama-host-notice" />}
      </form>
    </article>
  );
}
