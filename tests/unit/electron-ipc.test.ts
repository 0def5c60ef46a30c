// The Electron binding's security check, with a stand-in for Electron's ipcMain and window (no Electron
// binary can be downloaded in CI). The real RpcServer and contract run behind it.
import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { contract } from '../../shared/contract';
import { IPC_CHANNEL } from '../../shared/rpc/protocol';
import { RpcServer } from '../../shared/rpc/server';

const ipcMain = new EventEmitter();
vi.mock('electron', () => ({ ipcMain }));
const { bindWindow } = await import('../../electron/main/ipc');

const PAGE = 'file:///app/out/renderer/index.html';

function fakeWindow() {
  const sent: unknown[] = [];
  const mainFrame = { url: `${PAGE}#/system` };
  const contents = Object.assign(new EventEmitter(), {
    mainFrame,
    isDestroyed: () => false,
    send: (channel: string, message: unknown) => channel === IPC_CHANNEL && sent.push(message),
  });
  return { window: { webContents: contents } as never, contents, mainFrame, sent };
}

function server() {
  return new RpcServer(contract, {
    system: { hardware: () => { throw new Error('not under test'); } },
  } as never);
}

const bogusCall = { type: 'call', id: 1, method: 'system.nothing', args: {} };

describe('Electron IPC binding (Electron stand-in: no Electron binary in CI)', () => {
  it('answers messages from its own window’s main frame on our page', async () => {
    const { window, contents, mainFrame, sent } = fakeWindow();
    const unbind = bindWindow(server(), window, PAGE);
    ipcMain.emit(IPC_CHANNEL, { sender: contents, senderFrame: mainFrame }, bogusCall);
    await vi.waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]).toMatchObject({ id: 1, result: { ok: false, error: { code: 'unknown_method' } } });
    unbind();
  });

  it('drops messages from another window, a subframe, or a page we navigated away to', async () => {
    const { window, contents, mainFrame, sent } = fakeWindow();
    const other = fakeWindow();
    const unbind = bindWindow(server(), window, PAGE);
    ipcMain.emit(IPC_CHANNEL, { sender: other.contents, senderFrame: other.mainFrame }, bogusCall);
    ipcMain.emit(IPC_CHANNEL, { sender: contents, senderFrame: { url: PAGE } }, bogusCall);
    ipcMain.emit(IPC_CHANNEL, { sender: contents, senderFrame: null }, bogusCall);
    mainFrame.url = 'https://evil.example/';
    ipcMain.emit(IPC_CHANNEL, { sender: contents, senderFrame: mainFrame }, bogusCall);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sent).toEqual([]);
    unbind();
    expect(ipcMain.listenerCount(IPC_CHANNEL)).toBe(0);
  });
});
