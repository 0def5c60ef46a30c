import { useEffect, useState } from 'react';
import type { AppSettingsView, BackendChoice, Theme } from '../../../../shared/contract/app';
import { formatGB } from '../../../../shared/models/memory';
import { useApp } from '../../stores/app';
import { useHardware } from '../../stores/hardware';
import { Card } from '../layout';

const THEMES: { value: Theme; label: string; help: string }[] = [
  { value: 'light', label: 'Light', help: '' },
  { value: 'dark', label: 'Dark', help: '' },
  { value: 'system', label: 'System', help: 'follows the system’s light or dark mode' },
];

const BACKENDS: { value: BackendChoice; label: string }[] = [
  { value: 'auto', label: 'Automatic (the best node-llama-cpp finds)' },
  { value: 'cuda', label: 'CUDA (NVIDIA GPU)' },
  { value: 'cpu', label: 'CPU only' },
];

/** The error of the latest change of `key`, if it failed. */
function useSaveError(key: string): string | undefined {
  return useApp((s) => (s.saveError?.key === key ? s.saveError.message : undefined));
}

function SaveError({ settingKey }: { settingKey: string }) {
  const message = useSaveError(settingKey);
  if (!message) return null;
  return (
    <p className="error-text" role="alert">
      Not saved: {message}
    </p>
  );
}

/** Light, dark, or as the system is; applied to the page at once. */
export function ThemeCard({ view }: { view: AppSettingsView }) {
  const { saving, setSettings } = useApp();
  return (
    <Card title="Appearance">
      <fieldset className="choice-group" disabled={saving === 'theme'}>
        <legend>Theme</legend>
        {THEMES.map((t) => (
          <label key={t.value} className="checkbox">
            <input type="radio" name="theme" value={t.value} checked={view.settings.theme === t.value} onChange={() => void setSettings({ theme: t.value })} />
            {t.label}
            {t.help && <span className="muted small">({t.help})</span>}
          </label>
        ))}
      </fieldset>
      <SaveError settingKey="theme" />
    </Card>
  );
}

/** Close to tray and start at login: what the desktop app does with its window. */
export function WindowCard({ view }: { view: AppSettingsView }) {
  const { saving, setSettings } = useApp();
  const desktop = window.architect !== undefined;
  const { closeToTray, startAtLogin } = view.settings;
  return (
    <Card title="Window and tray">
      <div className="settings-form">
        <label className="checkbox">
          <input type="checkbox" checked={closeToTray} disabled={saving === 'closeToTray'} onChange={(e) => void setSettings({ closeToTray: e.target.checked })} aria-describedby="close-to-tray-help" />
          Close to tray
        </label>
        <p id="close-to-tray-help" className="muted small">
          {closeToTray ? 'Closing the window keeps the app running in the tray, where learning and training go on.' : 'Closing the window quits the app; a running training job is paused at a checkpoint first.'}
          {!desktop && ' This is the desktop app’s setting: this page is served by the headless host, which has no window.'}
        </p>
        <label className="checkbox">
          <input
            type="checkbox"
            checked={startAtLogin}
            disabled={!view.canStartAtLogin || saving === 'startAtLogin'}
            onChange={(e) => void setSettings({ startAtLogin: e.target.checked })}
            aria-describedby="start-at-login-help"
          />
          Start at login (in the tray)
        </label>
        <p id="start-at-login-help" className="muted small" data-testid="start-at-login-help">
          {view.canStartAtLogin
            ? 'Applied to the system at once.'
            : 'Not available here: start at login is set by the desktop app on Windows and macOS, and this host cannot set it.'}
        </p>
        <SaveError settingKey="closeToTray" />
        <SaveError settingKey="startAtLogin" />
      </div>
    </Card>
  );
}

/**
 * Probes the hardware again until the probe is one taken after `since` (ms; null: any will do), since the core keeps
 * a probe a few seconds. Returns whether the one there is.
 */
function useProbeAfter(since: number | null): boolean {
  const { status, info, load } = useHardware();
  const fresh = since === null || (info !== undefined && Date.parse(info.probedAt) >= since);
  useEffect(() => {
    if (fresh || status !== 'ready') return;
    const timer = setTimeout(() => void load(), 1000);
    return () => clearTimeout(timer);
  }, [fresh, status, load]);
  return fresh;
}

/** The backend generation and jobs left at auto run on, what runs now, and why CUDA does not when it is chosen. */
export function BackendCard({ view }: { view: AppSettingsView }) {
  const { saving, setSettings } = useApp();
  const { status, info, error, load } = useHardware();
  const chosen = view.settings.backend;
  // A change (here or pushed from another window) makes what runs now stale until the next probe.
  const [changedAt, setChangedAt] = useState<{ backend: BackendChoice; at: number | null }>({ backend: chosen, at: null });
  if (changedAt.backend !== chosen) setChangedAt({ backend: chosen, at: Date.now() });
  const fresh = useProbeAfter(changedAt.at);
  useEffect(() => {
    if (status === 'idle') void load();
  }, [status, load]);
  const compute = info?.compute;
  const cudaProblem = fresh && chosen === 'cuda' && compute && compute.backend !== 'cuda' ? (compute.error ?? compute.warning ?? `CUDA is chosen, but node-llama-cpp runs on ${compute.backend?.toUpperCase() ?? 'nothing'}.`) : undefined;
  const names = compute?.deviceNames.length ? ` (${compute.deviceNames.join(', ')})` : '';
  const now = compute && (compute.backend ? `${compute.backend.toUpperCase()}${names}` : cudaProblem ? 'nothing' : `none: ${compute.error ?? 'unknown reason'}`);
  return (
    <Card title="Backend and GPU">
      <div className="settings-form">
        <label>
          Preferred backend
          <select value={chosen} disabled={saving === 'backend'} onChange={(e) => void setSettings({ backend: e.target.value as BackendChoice })} aria-describedby="backend-help">
            {BACKENDS.map((b) => (
              <option key={b.value} value={b.value}>
                {b.label}
              </option>
            ))}
          </select>
        </label>
        <p id="backend-help" className="muted small" data-testid="backend-help">
          Generation runs on this backend, and so do training jobs whose backend is left at “auto”; a backend chosen for a job on the Training page wins for
          that job. A change unloads the generation model, which loads again on the new backend at the next generation. It cannot change while a generation
          runs (stop the generation first); a job already training keeps the backend it started on.
        </p>
        <SaveError settingKey="backend" />
        {status === 'error' && <p className="error-text">Could not probe this machine: {error}</p>}
        {now && (
          <div className="row">
            <span className="label">Running on now</span>
            <span className="value" data-testid="settings-backend-now">
              {fresh || status === 'error' ? now : 'checking…'}
            </span>
          </div>
        )}
        {compute?.vram && (
          <div className="row">
            <span className="label">GPU memory free</span>
            <span className="value">
              {formatGB(compute.vram.freeBytes)} of {formatGB(compute.vram.totalBytes)}
            </span>
          </div>
        )}
        {cudaProblem && (
          <p className="error-text small" role="alert" data-testid="backend-problem">
            {cudaProblem}
          </p>
        )}
        {!cudaProblem && compute?.warning && <p className="error-text small">{compute.warning}</p>}
        {!info && status === 'loading' && <p className="muted">Probing this machine…</p>}
      </div>
    </Card>
  );
}

/** Whether first-run setup was done, and a way to go through it again. */
export function SetupCard({ view }: { view: AppSettingsView }) {
  const openSetup = useApp((s) => s.openSetup);
  const { completed, skipped } = view.settings.firstRun;
  return (
    <Card title="First-run setup">
      <p data-testid="first-run-state">{completed ? 'Completed.' : skipped ? 'Skipped.' : 'Not done yet.'}</p>
      <p className="muted small">The machine in words, a base model (download, local file or Ollama) and the data folder.</p>
      <button type="button" onClick={openSetup}>
        Run first-run setup again
      </button>
    </Card>
  );
}
