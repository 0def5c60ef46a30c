import { ipcMain } from 'electron';
import type { BrowserWindow, IpcMainEvent } from 'electron';
import { IPC_CHANNEL } from '../../shared/rpc/protocol';
import type { RpcConnection, RpcEndpoint } from '../../shared/rpc/server';

/**
 * Binds the contract to one window over IPC. Messages from any other window or frame (an iframe,
 * a page the window was navigated to) are dropped. Each page load gets a fresh connection.
 */
export function bindWindow(rpc: RpcEndpoint, window: BrowserWindow, pageUrl: string): () => void {
  const contents = window.webContents;
  let connection: RpcConnection | undefined;
  const reconnect = () => {
    connection?.close();
    connection = rpc.connect((message) => {
      if (!contents.isDestroyed()) contents.send(IPC_CHANNEL, message);
    });
  };
  const onMessage = (event: IpcMainEvent, message: unknown) => {
    const frame = event.senderFrame;
    if (event.sender !== contents || !frame || frame !== contents.mainFrame || frame.url.split('#')[0] !== pageUrl) return;
    connection?.receive(message);
  };
  reconnect();
  contents.on('did-start-loading', reconnect);
  ipcMain.on(IPC_CHANNEL, onMessage);
  return () => {
    ipcMain.removeListener(IPC_CHANNEL, onMessage);
    connection?.close();
  };
}
