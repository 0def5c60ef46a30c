import WebSocket from 'ws';
import { contract } from '../../shared/contract';
import { createClient } from '../../shared/rpc/client';

/** Opens a WebSocket; resolves when open, rejects with the HTTP status when the host refuses. */
export function openSocket(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    socket.once('error', reject);
  });
}

/** The app's typed client over a Node WebSocket, as the renderer uses it over the browser's. */
export function clientOver(socket: WebSocket) {
  return createClient(contract, {
    send: (message) => socket.send(JSON.stringify(message)),
    onMessage: (listener) => {
      const handle = (data: WebSocket.RawData) => listener(JSON.parse(data.toString()));
      socket.on('message', handle);
      return () => void socket.off('message', handle);
    },
    onClose: (listener) => {
      const handle = () => listener('closed');
      socket.on('close', handle);
      return () => void socket.off('close', handle);
    },
  });
}
