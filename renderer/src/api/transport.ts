import type { ClientTransport } from '../../../shared/rpc/client';
import type { ArchitectBridge } from '../../../shared/rpc/protocol';

declare global {
  interface Window {
    /** Present only inside the desktop app (set by the preload). */
    architect?: ArchitectBridge;
  }
}

const TOKEN_KEY = 'architect.token';

/** The desktop app's IPC bridge when there is one, otherwise the headless host's WebSocket. */
export function pickTransport(): ClientTransport {
  if (window.architect) return window.architect;
  return webSocketTransport(`ws://${location.host}/rpc?token=${encodeURIComponent(takeToken())}`);
}

/** The token from `?token=` (then removed from the address bar and kept for reloads of this tab). */
function takeToken(): string {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    history.replaceState(null, '', url);
  }
  return fromUrl ?? sessionStorage.getItem(TOKEN_KEY) ?? '';
}

function webSocketTransport(url: string): ClientTransport {
  const socket = new WebSocket(url);
  const queue: string[] = [];
  socket.addEventListener('open', () => queue.splice(0).forEach((m) => socket.send(m)));
  return {
    send(message) {
      const text = JSON.stringify(message);
      if (socket.readyState === WebSocket.OPEN) socket.send(text);
      else if (socket.readyState === WebSocket.CONNECTING) queue.push(text);
    },
    onMessage(listener) {
      const handle = (event: MessageEvent) => {
        if (typeof event.data !== 'string') return;
        try {
          listener(JSON.parse(event.data));
        } catch {
          console.warn('[rpc] dropped a message that is not JSON');
        }
      };
      socket.addEventListener('message', handle);
      return () => socket.removeEventListener('message', handle);
    },
    onClose(listener) {
      const handle = (event: CloseEvent) => listener(event.reason || `connection closed (code ${event.code})`);
      socket.addEventListener('close', handle);
      return () => socket.removeEventListener('close', handle);
    },
  };
}
