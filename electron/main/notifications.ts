// Electron glue only: the core's notifications (electron/core/app/notifications.ts) as native ones.
import { BrowserWindow, Notification } from 'electron';
import type { Notifier } from '../core/app/notifications';

/**
 * Native notifications while no window of the app has the focus (the page toasts them when one has); a click on
 * one calls `onClick` (the window opens). Call after app 'ready'.
 */
export function electronNotifier(onClick: () => void): Notifier {
  // Held until closed: a notification nobody references may be collected before it is clicked.
  const shown = new Set<Notification>();
  return {
    show(notification) {
      if (BrowserWindow.getFocusedWindow() || !Notification.isSupported()) return false;
      const native = new Notification({ title: notification.title, body: notification.body, silent: notification.level === 'info' });
      shown.add(native);
      native.on('click', onClick);
      native.on('close', () => shown.delete(native));
      native.show();
      return true;
    },
  };
}
