// The app settings and the data folder through the real core (createCore, the contract, SQLite), with a stand-in
// login-item setter for Electron's. Data folders the app cannot use: a file in its place, a read-only bind mount,
// a full tmpfs (mounts need root, which this sandbox is; chmod is the test elsewhere, as root ignores it).
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoginItems } from '../../electron/core/app/settings';
import { createCore } from '../../electron/core/services';
import type { Core } from '../../electron/core/services';
import { DEFAULT_APP_SETTINGS } from '../../shared/contract/app';
import type { AppSettingsView } from '../../shared/contract/app';
import { canMount, mount, umount } from '../helpers/mounts';
import { makeTempDir } from '../helpers/tempDir';

/** A stand-in for Electron's login item settings: what the system would do at login, and each change asked. */
class StandInLoginItems implements LoginItems {
  openAtLogin = false;
  readonly calls: boolean[] = [];
  get(): boolean {
    return this.openAtLogin;
  }
  set(open: boolean): void {
    this.calls.push(open);
    this.openAtLogin = open;
  }
}

const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (e: { code: string; field?: string; message: string }) => e);

let temp: ReturnType<typeof makeTempDir>;
beforeAll(() => {
  temp = makeTempDir('architect-app-settings-');
});
afterAll(() => temp?.remove());

describe('app settings', () => {
  it('defaults, a round trip through the contract and a restart; firstRun merges field by field; changes are pushed', async () => {
    const dir = join(temp.path, 'round-trip');
    let core = await createCore({ dataDir: dir });
    try {
      const client = core.connect();
      const api = client.api;
      expect(await api.app.settings({})).toEqual({ settings: DEFAULT_APP_SETTINGS, problem: null, canStartAtLogin: false });
      expect(DEFAULT_APP_SETTINGS).toEqual({ closeToTray: true, closeNoticeShown: false, startAtLogin: false, theme: 'system', backend: 'auto', firstRun: { completed: false, skipped: false } });
      const pushed: AppSettingsView[] = [];
      client.on('app.settingsChanged', (view) => pushed.push(view));
      await api.app.settings({});
      const changed = await api.app.setSettings({ theme: 'dark', backend: 'cpu', firstRun: { completed: true } });
      expect(changed.settings).toEqual({ ...DEFAULT_APP_SETTINGS, theme: 'dark', backend: 'cpu', firstRun: { completed: true, skipped: false } });
      expect((await api.app.setSettings({ firstRun: { skipped: true }, closeToTray: false })).settings).toMatchObject({ closeToTray: false, theme: 'dark', firstRun: { completed: true, skipped: true } });
      // Turning start at login off needs no setter; it is off already.
      expect((await api.app.setSettings({ startAtLogin: false })).settings.startAtLogin).toBe(false);
      await api.app.settings({});
      expect(pushed.map((v) => v.settings.theme)).toEqual(['dark', 'dark', 'dark']);
    } finally {
      await core.dispose();
    }
    core = await createCore({ dataDir: dir });
    try {
      expect(core.services.app.settings()).toEqual({
        settings: { ...DEFAULT_APP_SETTINGS, closeToTray: false, theme: 'dark', backend: 'cpu', firstRun: { completed: true, skipped: true } },
        problem: null,
        canStartAtLogin: false,
      });
    } finally {
      await core.dispose();
    }
  });

  it('refuses what is out of bounds, naming the field, and changes nothing', async () => {
    const core = await createCore({ dataDir: join(temp.path, 'bounds') });
    try {
      const api = core.connect().api;
      const cases: [object, string][] = [
        [{ theme: 'blue' }, 'args.theme'],
        [{ backend: 'vulkan' }, 'args.backend'],
        [{ closeToTray: 'yes' }, 'args.closeToTray'],
        [{ firstRun: { completed: 1 } }, 'args.firstRun.completed'],
        [{ firstRun: { done: true } }, 'args.firstRun'],
        [{ ollamaHost: 'http://127.0.0.1:11434' }, 'args'],
      ];
      for (const [patch, field] of cases) {
        expect(await failure(api.app.setSettings(patch as never)), JSON.stringify(patch)).toMatchObject({ code: 'invalid_arguments', field });
        // In process, without the contract, the same check.
        expect(() => core.services.app.setSettings(patch as never)).toThrow(/Invalid args/);
      }
      expect(await failure(api.app.notifications({ limit: 101 }))).toMatchObject({ code: 'invalid_arguments', field: 'args.limit' });
      expect((await api.app.settings({})).settings).toEqual(DEFAULT_APP_SETTINGS);
    } finally {
      await core.dispose();
    }
  });

  it('a corrupt settings row falls back to defaults with a message and loses nothing else', async () => {
    const dir = join(temp.path, 'corrupt');
    let core = await createCore({ dataDir: dir });
    try {
      const api = core.connect().api;
      await api.learning.updateSettings({ batchSize: 7 });
      await api.generation.setSettings({ ollamaHost: 'http://127.0.0.1:11500' });
      await api.app.setSettings({ theme: 'dark' });
    } finally {
      await core.dispose();
    }
    /** The settings table's other rows, as stored. */
    const others = (c: Core) => c.services.store.db.prepare("SELECT key, value FROM settings WHERE key != 'app' ORDER BY key").all();
    let before: unknown[] = [];
    const corrupt = async (value: string) => {
      const c = await createCore({ dataDir: dir });
      c.services.store.db.prepare("UPDATE settings SET value = ? WHERE key = 'app'").run(value);
      before = others(c);
      await c.dispose();
    };

    // Not JSON at all: every default, and the message at start, to the page as well.
    await corrupt('{"theme": "dark", "closeToTray": fal');
    expect(before.length).toBeGreaterThanOrEqual(2);
    core = await createCore({ dataDir: dir });
    try {
      const api = core.connect().api;
      const view = await api.app.settings({});
      expect(view.settings).toEqual(DEFAULT_APP_SETTINGS);
      expect(view.problem).toBe("The stored app settings (the settings row 'app') could not be read (it is not valid JSON); the defaults are used until you change a setting.");
      expect((await api.app.notifications({})).notifications).toEqual([expect.objectContaining({ level: 'error', title: 'The app settings were reset', body: view.problem })]);
      // Nothing else lost: the other settings as they were, and the row waits as it was.
      expect((await api.learning.status({})).settings.batchSize).toBe(7);
      expect((await api.generation.settings({})).ollamaHost).toBe('http://127.0.0.1:11500');
      expect(others(core)).toEqual(before);
      expect(core.services.store.db.prepare("SELECT value FROM settings WHERE key = 'app'").pluck().get()).toBe('{"theme": "dark", "closeToTray": fal');
    } finally {
      await core.dispose();
    }

    // JSON with one bad field: the others are kept; a change writes a clean row.
    await corrupt('{"theme":"dark","backend":"gpu","closeToTray":false,"extra":1}');
    core = await createCore({ dataDir: dir });
    try {
      const api = core.connect().api;
      const view = await api.app.settings({});
      expect(view.settings).toEqual({ ...DEFAULT_APP_SETTINGS, theme: 'dark', closeToTray: false });
      expect(view.problem).toBe('The stored app settings had an invalid backend; its default is used until you change it.');
      const fixed = await api.app.setSettings({ backend: 'cuda' });
      expect(fixed).toMatchObject({ problem: null, settings: { theme: 'dark', closeToTray: false, backend: 'cuda' } });
      expect(JSON.parse(core.services.store.db.prepare("SELECT value FROM settings WHERE key = 'app'").pluck().get() as string)).toEqual(fixed.settings);
      // A row that is JSON but no object.
      core.services.store.db.prepare("UPDATE settings SET value = '[1,2]' WHERE key = 'app'").run();
      expect((await api.app.settings({})).problem).toMatch(/could not be read \(it is not a JSON object\)/);
      expect(others(core)).toEqual(before);
    } finally {
      await core.dispose();
    }
  });

  it('start at login: off by default, applied through the login-item setter, refused where there is none', async () => {
    const dir = join(temp.path, 'login');
    const loginItems = new StandInLoginItems();
    let core = await createCore({ dataDir: dir, loginItems });
    try {
      const api = core.connect().api;
      expect(await api.app.settings({})).toMatchObject({ settings: { startAtLogin: false }, canStartAtLogin: true });
      expect(loginItems.calls).toEqual([]);
      expect((await api.app.setSettings({ startAtLogin: true })).settings.startAtLogin).toBe(true);
      expect(loginItems.calls).toEqual([true]);
      // Asked again: the system already has it.
      await api.app.setSettings({ startAtLogin: true });
      expect(loginItems.calls).toEqual([true]);
      // Removed in the system's own settings: what the system does is what is shown.
      loginItems.openAtLogin = false;
      expect((await api.app.settings({})).settings.startAtLogin).toBe(false);
      await api.app.setSettings({ startAtLogin: false });
      expect(loginItems.calls).toEqual([true]);
    } finally {
      await core.dispose();
    }
    // The headless host has no setter.
    core = await createCore({ dataDir: dir });
    try {
      const api = core.connect().api;
      expect(await failure(api.app.setSettings({ startAtLogin: true, theme: 'light' }))).toMatchObject({ code: 'unavailable', field: 'args.startAtLogin', message: expect.stringMatching(/set by the desktop app on Windows and macOS/) });
      expect((await api.app.settings({})).settings).toMatchObject({ startAtLogin: false, theme: 'system' });
    } finally {
      await core.dispose();
    }
  });
});

// ---- the data folder -----------------------------------------------------------------------------

const isRoot = process.getuid?.() === 0;


/** Every file under `dir` with its size, mode and SHA-256: to show that a refused start changed nothing. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else out[path.slice(dir.length)] = `${statSync(path).size} ${statSync(path).mode.toString(8)} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
    }
  };
  walk(dir);
  return out;
}

/** A data folder a core has used: a database with a setting in it. */
async function usedFolder(dir: string): Promise<void> {
  const core = await createCore({ dataDir: dir });
  await core.connect().api.app.setSettings({ theme: 'dark' });
  await core.dispose();
}

describe('the data folder', () => {
  it('app.dataFolder: the folder, its free space, writable', async () => {
    const dir = join(temp.path, 'folder');
    const core = await createCore({ dataDir: dir });
    try {
      const folder = await core.connect().api.app.dataFolder({});
      expect(folder).toMatchObject({ path: dir, writable: true, problem: null });
      expect(folder.freeBytes).toBeGreaterThan(0);
      expect(folder.totalBytes).toBeGreaterThanOrEqual(folder.freeBytes);
      // The write check leaves nothing behind.
      expect(readdirSync(dir).filter((name) => name.startsWith('.architect-write-check'))).toEqual([]);
    } finally {
      await core.dispose();
    }
  });

  it('a file where the folder should be, or in its path: refused at start, naming it, the file untouched', async () => {
    const file = join(temp.path, 'not-a-folder');
    writeFileSync(file, 'my notes\n');
    await expect(createCore({ dataDir: file })).rejects.toThrow(`The data folder ${file} is a file, not a folder: Architect.AI Studio keeps its database, models and versions there.`);
    await expect(createCore({ dataDir: join(file, 'data') })).rejects.toThrow(new RegExp(`^The data folder ${file}/data cannot be opened \\(a file stands where a folder of its path should be\\)`));
    expect(readFileSync(file, 'utf8')).toBe('my notes\n');
  });

  it.skipIf(isRoot)('a folder this user cannot write (chmod 0500): refused at start, nothing in it changed', async () => {
    const dir = join(temp.path, 'read-only-mode');
    await usedFolder(dir);
    const before = snapshot(dir);
    chmodSync(dir, 0o500);
    try {
      await expect(createCore({ dataDir: dir })).rejects.toThrow(new RegExp(`^The data folder ${dir} is not writable \\(permission denied\\)`));
      expect(snapshot(dir)).toEqual(before);
    } finally {
      chmodSync(dir, 0o700);
    }
  });

  it.skipIf(!canMount)('a read-only bind mount of a used data folder: refused at start, naming it; nothing in it changed; a folder to create in it neither', async () => {
    const dir = join(temp.path, 'read-only-bind');
    await usedFolder(dir);
    const before = snapshot(dir);
    expect(mount('--bind', dir, dir).status).toBe(0);
    try {
      expect(mount('-o', 'remount,bind,ro', dir).status).toBe(0);
      const error = await failure(createCore({ dataDir: dir }));
      expect(error).toMatchObject({ code: 'unavailable' });
      expect(error!.message).toBe(
        `The data folder ${dir} is not writable (a read-only file system): Architect.AI Studio keeps its database, models and versions there. Make it writable for this user, or use another data folder (--data-dir DIR with the CLI and \`architect serve\`); nothing in it was changed.`,
      );
      expect(snapshot(dir)).toEqual(before);
      await expect(createCore({ dataDir: join(dir, 'new') })).rejects.toThrow(new RegExp(`^The data folder ${dir}/new could not be created \\(a read-only file system\\)`));
    } finally {
      umount(dir);
    }
    expect(snapshot(dir)).toEqual(before);
  });

  it.skipIf(!canMount)('a data folder on a full disk (a tiny tmpfs, filled): refused at start, naming it, nothing in it changed', async () => {
    const used = join(temp.path, 'to-copy');
    await usedFolder(used);
    const dir = join(temp.path, 'full');
    mkdirSync(dir);
    expect(mount('-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir).status).toBe(0);
    try {
      // The used database, and a file that takes the rest of the disk.
      for (const name of readdirSync(used)) if (statSync(join(used, name)).isFile()) writeFileSync(join(dir, name), readFileSync(join(used, name)));
      const filler = join(dir, 'filler.bin');
      try {
        for (;;) writeFileSync(filler, Buffer.alloc(64 * 1024), { flag: 'a' });
      } catch (error) {
        expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
      }
      const before = snapshot(dir);
      const error = await failure(createCore({ dataDir: dir }));
      expect(error).toMatchObject({ code: 'unavailable' });
      expect(error!.message).toMatch(new RegExp(`^The disk of the data folder ${dir} is full: \\d+ KB free, and Architect\\.AI Studio keeps its database, models and versions there \\(it needs at least 67 MB\\)\\. Free some space, or use another data folder .*; nothing in the folder was changed\\.$`));
      expect(snapshot(dir)).toEqual(before);
    } finally {
      umount(dir);
    }
  });
});
