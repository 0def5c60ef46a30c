import { create } from 'zustand';

/** Pages of the navigation shell, in sidebar order; the first is the default route. Later pages join here. */
export const PAGES = [
  { id: 'generate', label: 'Generate' },
  { id: 'models', label: 'Models' },
  { id: 'training', label: 'Training' },
  { id: 'system', label: 'System' },
  { id: 'history', label: 'History' },
  { id: 'learning', label: 'Learning' },
  { id: 'datasets', label: 'Datasets' },
  { id: 'settings', label: 'Settings' },
] as const;
export type PageId = (typeof PAGES)[number]['id'];

/** `#/history/12` → the History page showing artifact 12; `#/datasets/3` → dataset 3. */
function routeFromHash(): { page: PageId; artifactId: number | undefined; datasetId: number | undefined } {
  const [id, detail] = location.hash.replace(/^#\/?/, '').split('/');
  const page = PAGES.find((p) => p.id === id)?.id ?? PAGES[0].id;
  const number = detail && /^\d+$/.test(detail) ? Number(detail) : undefined;
  return { page, artifactId: page === 'history' ? number : undefined, datasetId: page === 'datasets' ? number : undefined };
}

interface NavigationState {
  page: PageId;
  /** The artifact open on the History page, if any. */
  artifactId: number | undefined;
  /** The dataset open on the Datasets page, if any. */
  datasetId: number | undefined;
  go(page: PageId): void;
  /** Opens an artifact on the History page; undefined goes back to the list. */
  openArtifact(id: number | undefined): void;
  /** Opens a dataset on the Datasets page; undefined goes back to the list. */
  openDataset(id: number | undefined): void;
}

export const useNavigation = create<NavigationState>((set) => ({
  ...routeFromHash(),
  go: (page) => {
    location.hash = `/${page}`;
    set({ page, artifactId: undefined, datasetId: undefined });
  },
  openArtifact: (artifactId) => {
    location.hash = artifactId === undefined ? '/history' : `/history/${artifactId}`;
    set({ page: 'history', artifactId, datasetId: undefined });
  },
  openDataset: (datasetId) => {
    location.hash = datasetId === undefined ? '/datasets' : `/datasets/${datasetId}`;
    set({ page: 'datasets', datasetId, artifactId: undefined });
  },
}));

window.addEventListener('hashchange', () => useNavigation.setState(routeFromHash()));
