import { create } from 'zustand';

/** Pages of the navigation shell, in sidebar order. Later pages join here. */
export const PAGES = [
  { id: 'system', label: 'System' },
  { id: 'history', label: 'History' },
  { id: 'learning', label: 'Learning' },
] as const;
export type PageId = (typeof PAGES)[number]['id'];

/** `#/history/12` → the History page showing artifact 12. */
function routeFromHash(): { page: PageId; artifactId: number | undefined } {
  const [id, detail] = location.hash.replace(/^#\/?/, '').split('/');
  const page = PAGES.find((p) => p.id === id)?.id ?? PAGES[0].id;
  const artifactId = page === 'history' && detail && /^\d+$/.test(detail) ? Number(detail) : undefined;
  return { page, artifactId };
}

interface NavigationState {
  page: PageId;
  /** The artifact open on the History page, if any. */
  artifactId: number | undefined;
  go(page: PageId): void;
  /** Opens an artifact on the History page; undefined goes back to the list. */
  openArtifact(id: number | undefined): void;
}

export const useNavigation = create<NavigationState>((set) => ({
  ...routeFromHash(),
  go: (page) => {
    location.hash = `/${page}`;
    set({ page, artifactId: undefined });
  },
  openArtifact: (artifactId) => {
    location.hash = artifactId === undefined ? '/history' : `/history/${artifactId}`;
    set({ page: 'history', artifactId });
  },
}));

window.addEventListener('hashchange', () => useNavigation.setState(routeFromHash()));
