import { useEffect, useRef, useState } from 'react';
import { useApp } from '../../stores/app';
import { openSubject, subjectLabel } from './subject';
import { LevelIcon } from './Toasts';

/** When, in the words of a list: "14:05" today, else "3 May, 14:05". */
function when(at: string): string {
  const date = new Date(at);
  const today = new Date().toDateString() === date.toDateString();
  return today ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : date.toLocaleString([], { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

/** A bell in the sidebar with the count of new notifications; it opens the recent ones of this run. */
export function NotificationBell() {
  const { notifications, notificationsError, unread, markRead } = useApp();
  const [open, setOpen] = useState(false);
  const panel = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!open) return;
    markRead();
    panel.current?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape') return;
      setOpen(false);
      button.current?.focus();
    };
    const onPointer = (event: PointerEvent) => {
      const target = event.target as Node;
      if (!panel.current?.contains(target) && !button.current?.contains(target)) setOpen(false);
    };
    window.addEventListener('keydown', onKey);
    window.addEventListener('pointerdown', onPointer);
    return () => {
      window.removeEventListener('keydown', onKey);
      window.removeEventListener('pointerdown', onPointer);
    };
  }, [open, markRead, notifications.length]);

  const label = unread > 0 ? `Notifications, ${unread} new` : 'Notifications';
  return (
    <div className="bell">
      <button
        ref={button}
        type="button"
        className="nav-item bell-button"
        aria-expanded={open}
        aria-controls="notification-list"
        aria-label={label}
        title="Recent notifications"
        onClick={() => setOpen(!open)}
      >
        <BellIcon /> Notifications
        {unread > 0 && (
          <span className="count" data-testid="unread-count" aria-hidden="true">
            {unread}
          </span>
        )}
      </button>
      {open && (
        <div ref={panel} id="notification-list" className="bell-panel" role="region" aria-label="Recent notifications" tabIndex={-1}>
          <div className="bell-panel-head">
            <strong>Recent notifications</strong>
            <button type="button" className="icon-button" aria-label="Close the notifications" onClick={() => setOpen(false)}>
              ×
            </button>
          </div>
          {notificationsError && (
            <p className="error-text" role="alert">
              Could not load the notifications: {notificationsError}
            </p>
          )}
          {notifications.length === 0 && !notificationsError && <p className="muted">Nothing yet in this run: finished jobs and downloads, and new versions, are told of here.</p>}
          <ol className="bell-list">
            {notifications.map((n) => {
              const link = subjectLabel(n.subject);
              return (
                <li key={n.id} className={n.level} data-testid={`notification-${n.id}`}>
                  <div className="toast-head">
                    <LevelIcon level={n.level} />
                    <strong className="toast-title">{n.title}</strong>
                    <time className="muted small" dateTime={n.at}>
                      {when(n.at)}
                    </time>
                  </div>
                  {n.body && <p className="toast-body">{n.body}</p>}
                  {link && (
                    <button
                      type="button"
                      className="link"
                      onClick={() => {
                        openSubject(n.subject);
                        setOpen(false);
                      }}
                    >
                      {link}
                    </button>
                  )}
                </li>
              );
            })}
          </ol>
        </div>
      )}
    </div>
  );
}

function BellIcon() {
  return (
    <svg aria-hidden="true" viewBox="0 0 24 24" width="1em" height="1em" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" style={{ verticalAlign: '-0.125em' }}>
      <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9" />
      <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
    </svg>
  );
}
