import { useSyncExternalStore } from 'react';
import type { Theme } from '../../shared/contract/app';

/** The theme drawn: a choice of 'system' follows the system's `prefers-color-scheme`. */
export type ResolvedTheme = 'light' | 'dark';

/** The last choice, kept in this browser so a reload draws the right colours before the settings arrive. */
const KEY = 'architect.theme';
const media = window.matchMedia('(prefers-color-scheme: light)');
const listeners = new Set<() => void>();

function stored(): Theme {
  try {
    const value = localStorage.getItem(KEY);
    return value === 'light' || value === 'dark' || value === 'system' ? value : 'system';
  } catch {
    return 'system';
  }
}

let choice: Theme = stored();

export function resolveTheme(theme: Theme): ResolvedTheme {
  if (theme === 'system') return media.matches ? 'light' : 'dark';
  return theme;
}

/** The theme drawn now. */
export function currentTheme(): ResolvedTheme {
  return resolveTheme(choice);
}

/**
 * Draws `theme`: `data-theme` on <html> selects the CSS variables of styles.css, and `color-scheme` gives
 * native controls (scroll bars, pickers) the same colours.
 */
export function applyTheme(theme: Theme): void {
  choice = theme;
  const resolved = resolveTheme(theme);
  const root = document.documentElement;
  root.dataset.theme = resolved;
  root.dataset.themeChoice = theme;
  root.style.colorScheme = resolved;
  try {
    localStorage.setItem(KEY, theme);
  } catch {
    // private mode: the settings still bring it after a reload
  }
  listeners.forEach((listener) => listener());
}

media.addEventListener('change', () => applyTheme(choice));

/** Draws the theme this browser last drew (before the settings arrive from the app). */
export function applyStoredTheme(): void {
  applyTheme(choice);
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The theme drawn, re-rendering on every change (charts and diagrams draw their own colours). */
export function useResolvedTheme(): ResolvedTheme {
  return useSyncExternalStore(subscribe, currentTheme);
}

/** Calls `listener` after every change of the drawn theme; returns the unsubscribe. */
export function onThemeChange(listener: () => void): () => void {
  return subscribe(listener);
}

/** A CSS variable of the theme drawn now, e.g. cssVar('--text'). */
export function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}
