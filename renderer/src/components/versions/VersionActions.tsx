import { useState } from 'react';
import type { FormEvent } from 'react';
import { GeneratedKind } from '../../../../shared/contract/generation';
import type { InstalledModel } from '../../../../shared/contract/models';
import type { Version } from '../../../../shared/contract/versions';
import { KIND_LABELS } from '../feedback';
import { formatGB, useModels } from '../../stores/models';
import { useVersions } from '../../stores/versions';
import type { Operation } from '../../stores/versions';
import { defaultExportPath, defaultPublishName } from './format';

/**
 * Activate a version (or the plain base) for some kinds. A kind served by another base needs the user's explicit
 * "switch base": the server refuses without it and says why; the answer here resends with `switchBase`.
 */
export function ActivatePanel({ model, version, onDone }: { model: InstalledModel | undefined; version: Version | null; onDone: () => void }) {
  const { active, busy, switchBase, activate, cancelSwitch } = useVersions();
  const modelId = version ? version.modelId! : model!.id;
  const key = version ? `version:${version.id}` : `base:${modelId}`;
  const [kinds, setKinds] = useState<GeneratedKind[]>(version?.kinds.length ? version.kinds : []);
  const [asDefault, setAsDefault] = useState(version === null);
  const working = busy.includes(key);
  const asked = switchBase[key];
  const what = version ? `v${version.number}` : 'the plain base';
  // Kinds with a choice of their own on another base: activating switches their base (the server asks first).
  const otherBase = kinds.map((k) => active.find((a) => a.kind === k)).filter((a) => a && !a.inherited && a.modelId !== modelId);
  const empty = kinds.length === 0 && !(version === null && asDefault);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (empty || working) return;
    const ok = await activate(key, { versionId: version?.id ?? null, ...(version ? {} : { modelId }), ...(kinds.length ? { kinds } : {}), ...(asDefault ? { asDefault: true } : {}) });
    if (ok) onDone();
  };
  const toggle = (kind: GeneratedKind, on: boolean) => setKinds(on ? GeneratedKind.options.filter((k) => k === kind || kinds.includes(k)) : kinds.filter((k) => k !== kind));
  return (
    <form className="action-panel" aria-label={`Activate ${what}`} onSubmit={(e) => void submit(e)}>
      <fieldset className="kinds-field" disabled={working || asked !== undefined}>
        <legend>Serve these kinds with {what}</legend>
        {GeneratedKind.options.map((k) => {
          const now = active.find((a) => a.kind === k);
          return (
            <label key={k} className="checkbox">
              <input type="checkbox" checked={kinds.includes(k)} onChange={(e) => toggle(k, e.target.checked)} /> {KIND_LABELS[k]}
              {version?.kinds.includes(k) && <span className="muted small">(trained on)</span>}
              {now && now.version?.id === version?.id && now.modelId === modelId && <span className="muted small">(serves it now)</span>}
            </label>
          );
        })}
        <label className="checkbox">
          <input type="checkbox" checked={asDefault} onChange={(e) => setAsDefault(e.target.checked)} /> Also the default for kinds with no choice of their own
        </label>
      </fieldset>
      {otherBase.length > 0 && !asked && (
        <p className="warn-text small">
          {otherBase.map((a) => `${KIND_LABELS[a!.kind]} is served by ${a!.modelName} (model ${a!.modelId})`).join('; ')}: activating switches its base, which you will be asked to confirm.
        </p>
      )}
      {asked ? (
        <div className="inline confirm-box" role="alertdialog" aria-label="Switch base?">
          <span>{asked.message}</span>
          <button type="button" className="primary" onClick={() => void activate(key, { ...asked.args, switchBase: true }).then((ok) => ok && onDone())} disabled={working}>
            Switch base and activate
          </button>
          <button type="button" onClick={() => cancelSwitch(key)} disabled={working}>
            Keep the current base
          </button>
        </div>
      ) : (
        <div className="inline">
          <button type="submit" className="primary" disabled={empty || working}>
            {working ? 'Activating…' : `Activate ${what}`}
          </button>
          {empty && <span className="muted small">Choose at least one kind.</span>}
        </div>
      )}
    </form>
  );
}

/** Progress of an export or a publish, from `versions.progress`, and how it ended. */
function OperationStatus({ operation, what }: { operation: Operation | undefined; what: string }) {
  if (!operation) return null;
  const p = operation.progress;
  const share = p && p.total > 0 ? Math.min(1, p.done / p.total) : undefined;
  return (
    <div className="operation" data-testid={`${operation.type}-status`}>
      {operation.running && (
        <>
          <div
            className="meter operation-meter"
            role="progressbar"
            aria-label={`${what} progress`}
            aria-valuemin={0}
            aria-valuemax={p?.total || undefined}
            aria-valuenow={p && p.total > 0 ? p.done : undefined}
            aria-valuetext={p ? `${p.phase}${share === undefined ? '' : ` ${Math.round(share * 100)}%`}` : 'starting'}
          >
            <div style={{ width: share === undefined ? '100%' : `${share * 100}%` }} className={share === undefined ? 'indeterminate' : undefined} />
          </div>
          <p className="muted small" data-testid={`${operation.type}-phase`}>
            {p ? `${p.phase}${share === undefined ? '' : ` ${Math.round(share * 100)}%`}: ${p.message}` : 'Starting…'}
          </p>
        </>
      )}
      {operation.notice && (
        <p className={operation.notice.tone === 'error' ? 'error-text small' : 'ok-text small'} role={operation.notice.tone === 'error' ? 'alert' : 'status'} data-testid={`${operation.type}-notice`}>
          {operation.notice.text}
        </p>
      )}
    </div>
  );
}

const latest = (operations: readonly Operation[], type: Operation['type'], versionId: number) => operations.filter((o) => o.type === type && o.versionId === versionId).at(-1);

/** Export as a GGUF file: the adapter alone, or merged into its base; to a path that defaults into `<data>/exports/`. */
export function ExportPanel({ version }: { version: Version }) {
  const { folder, models } = useModels();
  const { operations, exportVersion } = useVersions();
  const [merged, setMerged] = useState(false);
  const [typed, setTyped] = useState<string | undefined>();
  const operation = latest(operations, 'export', version.id);
  const running = operation?.running ?? false;
  const path = typed ?? defaultExportPath(folder, version, merged);
  const base = models.find((m) => m.id === version.modelId);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (path.trim() && !running) void exportVersion(version, merged, path.trim());
  };
  return (
    <form className="action-panel" aria-label={`Export v${version.number}`} onSubmit={submit}>
      <fieldset className="kinds-field" disabled={running}>
        <legend>What to write</legend>
        <label className="checkbox">
          <input type="radio" name={`export-${version.id}`} checked={!merged} onChange={() => setMerged(false)} /> The adapter alone
          <span className="muted small">(small; loads on top of {version.baseName})</span>
        </label>
        <label className="checkbox">
          <input type="radio" name={`export-${version.id}`} checked={merged} onChange={() => setMerged(true)} /> Merged into its base
          <span className="muted small">(a standalone GGUF{base ? `, about ${formatGB(base.sizeBytes)}` : ''}; takes longer)</span>
        </label>
      </fieldset>
      <label>
        File to write
        <input className="mono" value={path} onChange={(e) => setTyped(e.target.value)} disabled={running} spellCheck={false} />
      </label>
      <p className="muted small">Its folder must exist; a file already there is replaced. It is written to a temporary file first, so a failure leaves nothing behind.</p>
      <div className="inline">
        <button type="submit" className="primary" disabled={running || !path.trim()}>
          {running ? 'Exporting…' : 'Export'}
        </button>
        {typed !== undefined && (
          <button type="button" className="link" onClick={() => setTyped(undefined)} disabled={running}>
            Use the default path
          </button>
        )}
      </div>
      <OperationStatus operation={operation} what="Export" />
    </form>
  );
}

/** Publish to the Ollama server of the host setting, as architect-<kind>:v<N> unless named otherwise. */
export function PublishPanel({ version }: { version: Version }) {
  const ollama = useModels((s) => s.ollama);
  const { operations, publish } = useVersions();
  const [name, setName] = useState(defaultPublishName(version));
  const [route, setRoute] = useState<'merged' | 'adapter'>('merged');
  const operation = latest(operations, 'publish', version.id);
  const running = operation?.running ?? false;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (name.trim() && !running) void publish(version, name, route);
  };
  return (
    <form className="action-panel" aria-label={`Publish v${version.number} to Ollama`} onSubmit={submit}>
      <p className="small" data-testid="publish-host">
        To Ollama at <code>{ollama?.host ?? 'the host setting'}</code>
        {ollama && !ollama.reachable && <span className="warn-text"> (not reachable now{ollama.error ? `: ${ollama.error.replace(/\.?\s*$/, '')}` : ''})</span>}
        <span className="muted"> — the host is set in the Ollama card below.</span>
      </p>
      <div className="publish-fields">
        <label>
          Ollama model name
          <input className="mono" value={name} onChange={(e) => setName(e.target.value)} disabled={running} spellCheck={false} />
        </label>
        <label>
          How
          <select value={route} onChange={(e) => setRoute(e.target.value as 'merged' | 'adapter')} disabled={running}>
            <option value="merged">The merged GGUF (default)</option>
            <option value="adapter">An ADAPTER line (Ollama before 0.34.1)</option>
          </select>
        </label>
      </div>
      <div className="inline">
        <button type="submit" className="primary" disabled={running || !name.trim()}>
          {running ? 'Publishing…' : 'Publish'}
        </button>
      </div>
      <OperationStatus operation={operation} what="Publish" />
    </form>
  );
}

/** Delete a version and its folder, after a confirmation; the server refuses one that serves a kind, and says so. */
export function DeletePanel({ version, onClose }: { version: Version; onClose: () => void }) {
  const { busy, remove } = useVersions();
  const working = busy.includes(`version:${version.id}`);
  return (
    <div className="inline confirm-box" role="alertdialog" aria-label={`Delete v${version.number}?`}>
      <span>
        Delete v{version.number} of {version.baseName} and its folder (adapter, manifest, checkpoints)? This cannot be undone.
        {version.activeFor.length > 0 && ` It serves ${version.activeFor.join(', ')} now.`}
      </span>
      <button className="danger" onClick={() => void remove(version).then(onClose)} disabled={working}>
        {working ? 'Deleting…' : 'Delete'}
      </button>
      <button onClick={onClose} disabled={working}>
        Keep
      </button>
    </div>
  );
}
