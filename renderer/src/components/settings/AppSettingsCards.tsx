import { useEffect } from 'react';
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

/** The backend the user asks for, and what this machine runs on now. */
export function BackendCard({ view }: { view: AppSettingsView }) {
  const { saving, setSettings } = useApp();
  const { status, info, error, load } = useHardware();
  useEffect(() => {
    if (status === 'idle') void load();
  }, [status, load]);
  const compute = info?.compute;
  const now = compute ? (compute.backend ? `${compute.backend.toUpperCase()}${compute.deviceNames.length ? ` (${compute.deviceNames.join(', ')})` : ''}` : `none: ${compute.error ?? 'unknown reason'}`) : undefined;
  return (
    <Card title="Backend and GPU">
      <div className="settings-form">
        <label>
          Preferred backend
          <select value={view.settings.backend} disabled={saving === 'backend'} onChange={(e) => void setSettings({ backend: e.target.value as BackendChoice })} aria-describedby="backend-help">
            {BACKENDS.map((b) => (
              <option key={b.value} value={b.value}>
                {b.label}
              </option>
            ))}
          </select>
        </label>
        <p id="backend-help" className="warn-text small" data-testid="backend-help">
          Stored with your settings, but this version does not apply it yet: generation runs on what node-llama-cpp finds best, and each training job takes the
          backend chosen in its form on the Training page.
        </p>
        <SaveError settingKey="backend" />
        {status === 'error' && <p className="error-text">Could not probe this machine: {error}</p>}
        {now && (
          <div className="row">
            <span className="label">Running on now</span>
            <span className="value" data-testid="settings-backend-now">
              {now}
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
        {compute?.warning && <p className="error-text small">{compute.warning}</p>}
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
