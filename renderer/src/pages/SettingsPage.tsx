import { useEffect } from 'react';
import { DataFolderDetails } from '../components/firstRun/DataFolderDetails';
import { Card } from '../components/layout';
import { BackendCard, SetupCard, ThemeCard, WindowCard } from '../components/settings/AppSettingsCards';
import { LearningSettingsForm } from '../components/settings/LearningSettingsForm';
import { OllamaHostForm } from '../components/settings/OllamaHostForm';
import { RewardSettingsForm } from '../components/settings/RewardSettingsForm';
import { useApp } from '../stores/app';
import '../firstRun.css';
import '../settings.css';

/** Settings: theme, window and tray, backend, learning thresholds, reward ranges, Ollama host, the data folder, first-run setup. */
export function SettingsPage() {
  const { view, loadError, load } = useApp();
  useEffect(() => {
    if (!view) void load();
  }, [view, load]);
  return (
    <section className="settings-page">
      <header className="page-header">
        <h1>Settings</h1>
        <span className="muted">Each change is saved when you make it or press its Save button.</span>
      </header>
      {loadError && (
        <div className="banner error" role="alert">
          Could not read the app settings: {loadError}
        </div>
      )}
      {view?.problem && (
        <div className="banner error" role="alert" data-testid="settings-problem">
          The stored settings were reset: {view.problem}
        </div>
      )}
      {!view && !loadError && <p className="muted">Loading…</p>}
      {view && (
        <div className="settings-grid">
          <ThemeCard view={view} />
          <WindowCard view={view} />
          <Card title="Learning">
            <LearningSettingsForm />
          </Card>
          <BackendCard view={view} />
          <div className="wide">
            <Card title="Rewards">
              <RewardSettingsForm />
            </Card>
          </div>
          <Card title="Ollama">
            <OllamaHostForm />
          </Card>
          <Card title="Data folder">
            <DataFolderDetails movable />
          </Card>
          <SetupCard view={view} />
        </div>
      )}
    </section>
  );
}
