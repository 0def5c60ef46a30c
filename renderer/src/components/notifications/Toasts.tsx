import { useEffect, useRef, useState } from 'react';
import type { AppNotification } from '../../../../shared/contract/app';
import { TOAST_MS, useApp } from '../../stores/app';
import { openSubject, subjectLabel } from './subject';
import '../../notifications.css';

const LEVEL_WORDS: Record<AppNotification['level'], string> = { info: 'Notice', success: 'Done', error: 'Problem' };

/**
 * The notifications of this run as toasts, bottom right, newest on top. Info and success leave after 10 s
 * (not while the pointer or the focus is on them); errors stay until dismissed. `inline`: in the flow of a dialog
 * (first-run setup), where a floating toast would cover the dialog's buttons and a screen reader keeps to the dialog.
 */
export function Toasts({ inline = false }: { inline?: boolean }) {
  const toasts = useApp((s) => s.toasts);
  const notifications = useApp((s) => s.notifications);
  const shown = toasts.map((id) => notifications.find((n) => n.id === id)).filter((n): n is AppNotification => n !== undefined);
  return (
    <section className={inline ? 'toasts in-dialog' : 'toasts'} aria-label="Notifications" data-testid="toasts">
      {shown.map((n) => (
        <Toast key={n.id} notification={n} />
      ))}
    </section>
  );
}

function Toast({ notification }: { notification: AppNotification }) {
  const dismiss = useApp((s) => s.dismissToast);
  const [held, setHeld] = useState(false);
  const remaining = useRef(TOAST_MS);
  const lasts = notification.level !== 'error';

  useEffect(() => {
    if (!lasts || held) return;
    const started = performance.now();
    const timer = setTimeout(() => dismiss(notification.id), remaining.current);
    return () => {
      clearTimeout(timer);
      remaining.current = Math.max(2000, remaining.current - (performance.now() - started));
    };
  }, [lasts, held, dismiss, notification.id]);

  const link = subjectLabel(notification.subject);
  return (
    <div
      className={`toast ${notification.level}`}
      role={notification.level === 'error' ? 'alert' : 'status'}
      aria-label={`${LEVEL_WORDS[notification.level]}: ${notification.title}`}
      data-testid={`toast-${notification.id}`}
      onMouseEnter={() => setHeld(true)}
      onMouseLeave={() => setHeld(false)}
      onFocus={() => setHeld(true)}
      onBlur={() => setHeld(false)}
    >
      <div className="toast-head">
        <LevelIcon level={notification.level} />
        <strong className="toast-title">{notification.title}</strong>
        <button type="button" className="icon-button" onClick={() => dismiss(notification.id)} aria-label={`Dismiss “${notification.title}”`} title="Dismiss">
          ×
        </button>
      </div>
      {notification.body && <p className="toast-body">{notification.body}</p>}
      {link && (
        <button
          type="button"
          className="link"
          onClick={() => {
            openSubject(notification.subject);
            dismiss(notification.id);
          }}
        >
          {link}
        </button>
      )}
    </div>
  );
}

/** ✓, ! or i in a circle, coloured by level; the level is also in the toast's label for screen readers. */
export function LevelIcon({ level }: { level: AppNotification['level'] }) {
  return (
    <span className={`level-icon ${level}`} aria-hidden="true">
      {level === 'success' ? '✓' : level === 'error' ? '!' : 'i'}
    </span>
  );
}
