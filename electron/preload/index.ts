// Runs sandboxed in the renderer before the page: it exposes one message pipe and a File's path on disk, nothing else.
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { ClientMessage, IPC_CHANNEL } from '../../shared/rpc/protocol';
import type { ArchitectBridge, ArchitectFiles } from '../../shared/rpc/protocol';

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

// The path of a File from a drop or an <input type="file">, so that the Models page can import a .gguf where it lies.
const files: ArchitectFiles = {
  pathForFile(file) {
    try {
      return webUtils.getPathForFile(file); // '' for a File that no file on disk backs
    } catch {
      return ''; // not a File
    }
  },
};

contextBridge.exposeInMainWorld('architect', bridge);
contextBridge.exposeInMainWorld('architectFiles', files);
