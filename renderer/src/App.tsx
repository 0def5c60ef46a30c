import { lazy, Suspense, useEffect } from 'react';
import type { ReactElement } from 'react';
import { useConnection } from './api/client';
import { FileDrop } from './components/FileDrop';
import { FirstRunDialog } from './components/firstRun/FirstRunDialog';
import { NotificationBell } from './components/notifications/NotificationBell';
import { Toasts } from './components/notifications/Toasts';
import { DatasetsPage } from './pages/DatasetsPage';
import { GeneratePage } from './pages/GeneratePage';
import { HistoryPage } from './pages/HistoryPage';
import { LearningPage } from './pages/LearningPage';
import { ModelsPage } from './pages/ModelsPage';
import { SettingsPage } from './pages/SettingsPage';
import { SystemPage } from './pages/SystemPage';
import { setupShown, useApp } from './stores/app';
import { PAGES, useNavigation } from './stores/navigation';
import type { PageId } from './stores/navigation';

// The Training page brings chart.js: it loads when first opened.
const LazyTrainingPage = lazy(() => import('./pages/TrainingPage').then((m) => ({ default: m.TrainingPage })));
function TrainingPage() {
  return (
    <Suspense fallback={<p className="muted">Loading…</p>}>
      <LazyTrainingPage />
    </Suspense>
  );
}

const PAGE_VIEWS: Record<PageId, () => ReactElement> = {
  generate: GeneratePage,
  models: ModelsPage,
  training: TrainingPage,
  system: SystemPage,
  history: HistoryPage,
  learning: LearningPage,
  datasets: DatasetsPage,
  settings: SettingsPage,
};

export function App() {
  const { page, go } = useNavigation();
  const lostReason = useConnection((s) => s.lostReason);
  const Page = PAGE_VIEWS[page];
  const loadApp = useApp((s) => s.load);
  const setup = useApp(setupShown);
  useEffect(() => {
    void loadApp();
  }, [loadApp]);
  return (
    <>
      <div className="shell" inert={setup}>
        <nav className="sidebar" aria-label="Main">
          <div className="brand">Architect.AI Studio</div>
          {PAGES.map((p) => (
            <button
              key={p.id}
              className={p.id === page ? 'nav-item active' : 'nav-item'}
              aria-current={p.id === page ? 'page' : undefined}
              onClick={() => go(p.id)}
            >
              {p.label}
            </button>
          ))}
          <NotificationBell />
        </nav>
        <main className="content">
          {lostReason && (
            <div className="banner error" role="alert">
              Not connected to the app ({lostReason}). If you use the browser, open the link that
              <code> architect serve </code>printed: it carries the access token.
            </div>
          )}
          <FileDrop />
          <Page />
        </main>
      </div>
      {/* While setup shows, its dialog shows the toasts. */}
      {setup ? <FirstRunDialog /> : <Toasts />}
    </>
  );
}
