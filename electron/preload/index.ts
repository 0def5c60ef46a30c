// Runs sandboxed in the renderer before the page: it exposes one message pipe and nothing else.
import { contextBridge, ipcRenderer } from 'electron';
import { ClientMessage, IPC_CHANNEL } from '../../shared/rpc/protocol';
import type { ArchitectBridge } from '../../shared/rpc/protocol';

const bridge: ArchitectBridge = {
  send(message) {
    const parsed = ClientMessage.safeParse(message);
    if (!parsed.success) throw new TypeError(`architect.send: malformed message (${parsed.error.issues[0]?.message})`);
    ipcRenderer.send(IPC_CHANNEL, parsed.data);
  },
  onMessage(listener) {
    // The Electron event never reaches the page.
    const wrapped = (_event: Electron.IpcRendererEvent, message: unknown) => listener(message);
    ipcRenderer.on(IPC_CHANNEL, wrapped);
    return () => void ipcRenderer.removeListener(IPC_CHANNEL, wrapped);
  },
};

contextBridge.exposeInMainWorld('architect', bridge);
