import { lazy, Suspense } from 'react';
import type { ReactElement } from 'react';
import { useConnection } from './api/client';
import { FileDrop } from './components/FileDrop';
import { DatasetsPage } from './pages/DatasetsPage';
import { GeneratePage } from './pages/GeneratePage';
import { HistoryPage } from './pages/HistoryPage';
import { LearningPage } from './pages/LearningPage';
import { ModelsPage } from './pages/ModelsPage';
import { SystemPage } from './pages/SystemPage';
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
};

export function App() {
  const { page, go } = useNavigation();
  const lostReason = useConnection((s) => s.lostReason);
  const Page = PAGE_VIEWS[page];
  return (
    <div className="shell">
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
  );
}
