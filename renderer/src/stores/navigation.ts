import { create } from 'zustand';

/** Pages of the navigation shell, in sidebar order. Later pages join here. */
export const PAGES = [{ id: 'system', label: 'System' }] as const;
export type PageId = (typeof PAGES)[number]['id'];

function pageFromHash(): PageId {
  const id = location.hash.replace(/^#\/?/, '');
  return PAGES.find((p) => p.id === id)?.id ?? PAGES[0].id;
}

interface NavigationState {
  page: PageId;
  go(page: PageId): void;
}

export const useNavigation = create<NavigationState>((set) => ({
  page: pageFromHash(),
  go: (page) => {
    location.hash = `/${page}`;
    set({ page });
  },
}));

window.addEventListener('hashchange', () => useNavigation.setState({ page: pageFromHash() }));
