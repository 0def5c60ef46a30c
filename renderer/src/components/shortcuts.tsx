import { useEffect, useRef } from 'react';
import type { KeyboardEvent as ReactKeyboardEvent } from 'react';
import '../shortcuts.css';

/** macOS names the modifier ⌘; elsewhere it is Ctrl. Both work everywhere. */
const MAC = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
const MOD = MAC ? '⌘' : 'Ctrl';

/** The Generate page's and the artifact view's shortcuts: how they are written, and their aria-keyshortcuts. */
export const SHORTCUTS = {
  generate: { keys: `${MOD}+Enter`, aria: 'Control+Enter Meta+Enter' },
  stop: { keys: 'Esc', aria: 'Escape' },
  up: { keys: 'Alt+↑', aria: 'Alt+ArrowUp' },
  down: { keys: 'Alt+↓', aria: 'Alt+ArrowDown' },
  save: { keys: `${MOD}+S`, aria: 'Control+S Meta+S' },
} as const;

type AnyKeyboardEvent = KeyboardEvent | ReactKeyboardEvent;

/** Ctrl+S or ⌘+S, nothing else held. */
export function isSaveKey(event: AnyKeyboardEvent): boolean {
  return (event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey && event.key.toLowerCase() === 's';
}

/** Alt+↑ → 'up', Alt+↓ → 'down', else undefined. */
export function ratingKey(event: AnyKeyboardEvent): 'up' | 'down' | undefined {
  if (!event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return undefined;
  return event.key === 'ArrowUp' ? 'up' : event.key === 'ArrowDown' ? 'down' : undefined;
}

/** A dialog over the page (first-run setup) takes the keys: page shortcuts wait until it closes. */
export function modalOpen(): boolean {
  return document.querySelector('[aria-modal="true"]') !== null;
}

/**
 * Alt+↑ / Alt+↓ anywhere on the page call `rate` while `enabled`; not in a drop-down list (where Alt+↓ opens
 * it), and not while a dialog is open.
 */
export function useRatingKeys(rate: (which: 'up' | 'down') => void, enabled: boolean): void {
  const latest = useRef({ rate, enabled });
  latest.current = { rate, enabled };
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const which = ratingKey(event);
      if (!which || !latest.current.enabled || modalOpen()) return;
      if (event.target instanceof HTMLSelectElement) return;
      event.preventDefault();
      latest.current.rate(which);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}

/** A key combination as keys: <kbd>Ctrl</kbd>+<kbd>Enter</kbd>. */
export function Keys({ keys }: { keys: string }) {
  const parts = keys.split('+');
  return (
    <span className="keys">
      {parts.map((part, i) => (
        <span key={i}>
          {i > 0 && '+'}
          <kbd>{part}</kbd>
        </span>
      ))}
    </span>
  );
}

/** One line of the page's shortcuts, e.g. under the Generate page's title. */
export function ShortcutHelp({ items, label = 'Keyboard shortcuts' }: { items: { keys: string; what: string }[]; label?: string }) {
  return (
    <p className="shortcut-help muted small" aria-label={label} data-testid="shortcut-help">
      {items.map((item) => (
        <span key={item.what}>
          <Keys keys={item.keys} /> {item.what}
        </span>
      ))}
    </p>
  );
}
