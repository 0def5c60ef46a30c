// The desktop package as electron-builder makes it from electron-builder.yml (`electron-builder --dir`): the files it
// packs and unpacks, then that app installed in another folder, where the trainer and the export child processes
// run and load the addon and ggml libraries of the installed copy, not the build tree's (their /proc/<pid>/maps).
// One stand-in: Electron's own binary cannot be downloaded here, so electronDist names a folder holding a script in
// its place (electron-builder copies it and renames it, nothing more). npmRebuild is off for the same reason (it
// fetches Electron's headers), and because it rebuilds better-sqlite3 in place in node_modules; the config is checked.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { extractFile, listPackage, statFile } from '@electron/asar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ChildHost, forkSpawner } from '../../electron/core/childHost';
import { Trainer } from '../../native/index';
import { ExportMessage } from '../../shared/versions/exportProtocol';
import type { ExportRequest } from '../../shared/versions/exportProtocol';
import { TrainerMessage } from '../../shared/training/protocol';
import type { TrainerJob, TrainerRequest, TrainerResult } from '../../shared/training/protocol';
import { REPO } from '../helpers/cli';
import { FIXTURES, fixtureFolder } from '../helpers/fixtures';
import { makeTempDir } from '../helpers/tempDir';
import { MEMORISE, tinyConfig } from '../helpers/training';

const TIMEOUT = 120_000;
const PLATFORM = `${process.platform === 'darwin' ? 'mac' : process.platform}-${process.arch}`;
const pkg = JSON.parse(readFileSync(`${REPO}package.json`, 'utf8')) as { devDependencies: Record<string, string> };
const config = parse(readFileSync(`${REPO}electron-builder.yml`, 'utf8')) as Record<string, { target?: string[] } & Record<string, unknown>>;

let work: ReturnType<typeof makeTempDir>;
let fixtures: ReturnType<typeof fixtureFolder>;
/** Every path electron-builder put in app.asar (unpacked ones too), relative, with '/'. */
let packed: string[];
/** The files it put in app.asar.unpacked. */
let unpacked: Set<string>;
/** The app as an installer lays it out (app.asar and app.asar.unpacked merged), in a folder with a space. */
let installed: string;

/** Files under `dir`, relative, with '/'. */
function walk(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}

/** Where an installer puts the app: app.asar.unpacked moved into place, then the archive's other files written beside. */
function install(resources: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  renameSync(join(resources, 'app.asar.unpacked'), to);
  const archive = join(resources, 'app.asar');
  for (const path of packed) {
    const entry = statFile(archive, path, false);
    if ('files' in entry) mkdirSync(join(to, path), { recursive: true });
    else if ('link' in entry) throw new Error(`app.asar holds a symlink: ${path}`);
    else if (!entry.unpacked) {
      writeFileSync(join(to, path), extractFile(archive, path, false));
      if (entry.executable) chmodSync(join(to, path), 0o755);
    }
  }
}

/** The native libraries a process has mapped (addons and shared objects), by path. */
function nativeMaps(pid: number): string[] {
  const paths = readFileSync(`/proc/${pid}/maps`, 'utf8')
    .split('\n')
    .map((line) => line.split(/\s+/).slice(5).join(' '))
    .filter((path) => /\.(node|so)(\.[0-9.]+)?$/.test(path) && !path.startsWith('/usr/') && !path.startsWith('/lib'));
  return [...new Set(paths)];
}

/** This environment without anything that points at the build tree (npm's variables, its node_modules/.bin). */
function envAwayFromRepo(): NodeJS.ProcessEnv {
  const repo = REPO.replace(/\/$/, '');
  const env = Object.fromEntries(Object.entries(process.env).filter(([key, value]) => key === 'PATH' || !value?.includes(repo)));
  env.PATH = (process.env.PATH ?? '').split(':').filter((p) => !p.includes(repo)).join(':');
  return env;
}

describe.runIf(process.platform === 'linux')('the desktop package (electron-builder --dir with electron-builder.yml)', () => {
  beforeAll(async () => {
    for (const built of ['out/workers/trainer.js', 'out/workers/export.js', 'out/main/index.js', 'native/out/cpu/architect_trainer.node']) {
      if (!existsSync(`${REPO}${built}`)) throw new Error(`${built} is missing: run npm run build (and npm run build:native)`);
    }
    work = makeTempDir('architect-packaging-');
    const electronDist = join(work.path, 'electron-dist');
    mkdirSync(electronDist);
    writeFileSync(join(electronDist, 'electron'), '#!/bin/sh\necho "a stand-in for the Electron binary"\n', { mode: 0o755 });
    const release = join(work.path, 'release');
    await promisify(execFile)(
      process.execPath,
      [`${REPO}node_modules/electron-builder/cli.js`, '--dir', '--config', 'electron-builder.yml', `-c.directories.output=${release}`, '-c.npmRebuild=false', `-c.electronDist=${electronDist}`],
      { cwd: REPO, env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' }, timeout: 300_000, maxBuffer: 64 * 1024 * 1024 },
    );
    const resources = join(release, 'linux-unpacked', 'resources');
    packed = listPackage(join(resources, 'app.asar'), { isPack: false }).map((p) => p.replace(/^[\\/]/, '').replaceAll('\\', '/'));
    unpacked = new Set(walk(join(resources, 'app.asar.unpacked')));
    installed = join(work.path, 'opt', 'Architect.AI Studio', 'resources', 'app');
    install(resources, installed);
    fixtures = fixtureFolder((type, data, row) => Trainer.cpu().quantize(type, data, row));
  }, 360_000);
  afterAll(() => {
    fixtures?.remove();
    work?.remove();
  });

  describe('the file list', () => {
    it('unpacks the native code and the child processes: our addon, the ggml libraries it links to, better-sqlite3, out/workers', () => {
      const build = JSON.parse(readFileSync(`${REPO}native/out/cpu/build.json`, 'utf8')) as { libDir: string; lib: string };
      const libDir = join('native/out/cpu', build.libDir).replaceAll('\\', '/');
      for (const file of [
        'native/out/cpu/architect_trainer.node',
        'native/out/cpu/build.json',
        `${libDir}/${build.lib}`,
        `${libDir}/libggml-base.so`,
        `node_modules/@node-llama-cpp/${PLATFORM}/bins/${PLATFORM}/llama-addon.node`,
        'node_modules/better-sqlite3/build/Release/better_sqlite3.node',
        'out/workers/trainer.js',
        'out/workers/export.js',
        'out/workers/datasetImport.js',
      ]) {
        expect(unpacked, file).toContain(file);
      }
      const native = packed.filter((p) => /\.(node|so|dylib)(\.[0-9.]+)?$/.test(p));
      expect(native.filter((p) => !unpacked.has(p))).toEqual([]);
    });

    it("finds every addon's ggml libraries relative to itself: build.json and the rpath name no folder of the build machine", () => {
      const variants = packed.filter((p) => /^native\/out\/[^/]+\/build\.json$/.test(p));
      expect(variants).toContain('native/out/cpu/build.json');
      for (const file of variants) {
        const build = JSON.parse(readFileSync(join(installed, file), 'utf8')) as { libDir: string; lib: string };
        expect(build.libDir, `${file} (rebuild with npm run build:native)`).toMatch(/^\.\.\//);
        expect(existsSync(join(installed, dirname(file), build.libDir, build.lib)), `${file}: ${build.libDir}/${build.lib}`).toBe(true);
        const addon = join(installed, dirname(file), 'architect_trainer.node');
        const dynamic = execFileSync('readelf', ['-d', addon], { encoding: 'utf8' });
        expect(dynamic, addon).toContain(`[$ORIGIN/${build.libDir}]`);
        expect(readFileSync(addon).includes(REPO.replace(/\/$/, '')), addon).toBe(false);
      }
    });

    it('packs the bundles the app runs and its resources; no bench, CLI or test scripts, no tests, sources or source maps', () => {
      for (const file of ['package.json', 'out/main/index.js', 'out/preload/index.cjs', 'out/renderer/index.html', 'resources/models.json']) {
        expect(packed, file).toContain(file);
      }
      const ours = packed.filter((p) => !p.startsWith('node_modules/') && p !== 'node_modules' && !packed.some((q) => q.startsWith(`${p}/`)));
      const outside = ours.filter((p) => !/^(out\/(main|preload|renderer|workers)\/|native\/out\/|resources\/|package\.json$)/.test(p));
      expect(outside).toEqual([]);
      expect(packed.filter((p) => p.endsWith('.map'))).toEqual([]);
      expect(packed.filter((p) => /^(tests|bin|native\/src|native\/build|out\/(bench|cli|test-scripts|exp))(\/|$)/.test(p))).toEqual([]);
    });

    it('packs production dependencies only, at the versions the lock file installed; no devDependency', () => {
      // npm's production tree (package-lock.json as installed): "path:name@version" per package.
      const tree = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable', '--long'], { cwd: REPO, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
      const production = new Set(tree.trim().split('\n').slice(1).map((line) => line.split(':')[1]!));
      const productionNames = new Set([...production].map((id) => id.replace(/@[^@]+$/, '')));
      const manifests = packed.filter((p) => /(^|\/)node_modules\/(@[^/]+\/)?[^/@][^/]*\/package\.json$/.test(p));
      const packages = manifests.map((p) => {
        const { name, version } = JSON.parse(readFileSync(join(installed, p), 'utf8')) as { name: string; version: string };
        return `${name}@${version}`;
      });
      expect(packages.length).toBeGreaterThan(100);
      expect(packages.filter((id) => !production.has(id))).toEqual([]);
      const devOnly = Object.keys(pkg.devDependencies).filter((name) => !productionNames.has(name));
      expect(devOnly).toContain('electron');
      expect(packages.filter((id) => devOnly.includes(id.replace(/@[^@]+$/, '')))).toEqual([]);
    });

    it("packs this platform's ggml binaries only, and no llama.cpp source", () => {
      const bins = packed.filter((p) => /^node_modules\/@node-llama-cpp\/[^/]+\/bins\//.test(p));
      expect(bins.length).toBeGreaterThan(0);
      expect(bins.filter((p) => !p.startsWith(`node_modules/@node-llama-cpp/${PLATFORM}`))).toEqual([]);
      expect(packed.filter((p) => /^node_modules\/node-llama-cpp\/llama\/(llama\.cpp|localBuilds|gitRelease\.bundle)(\/|$)/.test(p))).toEqual([]);
    });

    it("rebuilds better-sqlite3 for Electron's ABI (the only native dependency that needs it) and targets AppImage, deb, NSIS and dmg", () => {
      expect(config.npmRebuild).toBe(true);
      expect(config.linux!.target).toEqual(expect.arrayContaining(['AppImage', 'deb']));
      expect(config.win!.target).toContain('nsis');
      expect(config.mac!.target).toContain('dmg');
      // What @electron/rebuild rebuilds: production packages with a binding.gyp, from the lock file's tree.
      const lock = JSON.parse(readFileSync(`${REPO}package-lock.json`, 'utf8')) as { packages: Record<string, { dev?: boolean }> };
      expect(lock.packages['node_modules/better-sqlite3']?.dev).toBeUndefined();
      expect(existsSync(`${REPO}node_modules/better-sqlite3/binding.gyp`)).toBe(true);
      // Our addon and node-llama-cpp's use Node-API alone, which Electron's ABI keeps: no V8 or Node C++ symbol.
      for (const addon of ['native/out/cpu/architect_trainer.node', `node_modules/@node-llama-cpp/${PLATFORM}/bins/${PLATFORM}/llama-addon.node`]) {
        const imports = execFileSync('nm', ['-D', '--undefined-only', join(installed, addon)], { encoding: 'utf8' });
        expect(imports, addon).toMatch(/\bnapi_/);
        expect(imports.match(/\b_ZN(2v8|4node)\w*/g), addon).toBeNull();
      }
    });
  });

  describe('the app installed in another folder', () => {
    let cwd: string;
    let modelPath: string;
    let adapterPath: string;
    const env = () => envAwayFromRepo();
    beforeAll(() => {
      // The children inherit this working folder: the installed app's parent, nowhere near the build tree.
      cwd = process.cwd();
      process.chdir(dirname(installed));
      modelPath = fixtures.model('f32', FIXTURES.f32).path;
    });
    afterAll(() => process.chdir(cwd));

    it('holds no symlink', () => {
      const links = walk(installed).filter((p) => lstatSync(join(installed, p)).isSymbolicLink());
      expect(links).toEqual([]);
    });

    it("trains in a trainer child started from it, which loads its own addon and ggml libraries, none of the build tree's", async () => {
      const host = await ChildHost.start<TrainerRequest, TrainerMessage>({
        name: 'trainer',
        entry: join(installed, 'out/workers/trainer.js'),
        spawner: forkSpawner,
        messages: TrainerMessage,
        isReady: (m) => m.type === 'ready',
        args: ['--backend', 'cpu'],
        env: env(),
      });
      const maps = nativeMaps(host.pid!);
      expect(maps.filter((p) => !p.startsWith(`${installed}/`))).toEqual([]);
      expect(maps).toContain(join(installed, 'native/out/cpu/architect_trainer.node'));
      expect(maps).toContain(join(installed, `node_modules/@node-llama-cpp/${PLATFORM}/bins/${PLATFORM}/libggml-base.so`));

      const dataDir = join(work.path, 'data');
      mkdirSync(dataDir, { recursive: true });
      const examplesFile = join(work.path, 'examples.jsonl');
      writeFileSync(examplesFile, MEMORISE.map((e) => JSON.stringify(e)).join('\n') + '\n');
      adapterPath = join(work.path, 'adapter.gguf');
      const job: TrainerJob = { jobId: 1, modelPath, examplesFile, dataDir, config: tinyConfig({ epochs: 1, batchSize: 1 }), outPath: adapterPath, checkpointDir: join(work.path, 'checkpoints') };
      const end = new Promise<TrainerResult | string>((resolve) => {
        host.onMessage((m) => {
          if (m.type === 'done') resolve(m.result);
          if (m.type === 'error') resolve(m.error.message);
        });
        host.onCrash((crash) => resolve(`${crash.reason}\n${crash.logTail.join('\n')}`));
      });
      host.send({ type: 'start', job });
      expect(await end).toMatchObject({ status: 'completed', adapterPath, steps: 3 });
      expect(await host.waitForExit(10_000)).toBe('exited');
    }, TIMEOUT);

    it('merges that adapter in an export child started from it: the addon alone finds ggml (no node-llama-cpp loaded first)', async () => {
      expect(adapterPath).toBeDefined();
      const host = await ChildHost.start<ExportRequest, ExportMessage>({
        name: 'exporter',
        entry: join(installed, 'out/workers/export.js'),
        spawner: forkSpawner,
        messages: ExportMessage,
        isReady: (m) => m.type === 'ready',
        env: env(),
      });
      const maps = nativeMaps(host.pid!);
      expect(maps.filter((p) => !p.startsWith(`${installed}/`))).toEqual([]);
      expect(maps.some((p) => p.endsWith('/llama-addon.node'))).toBe(false);
      const libs = join(installed, `node_modules/@node-llama-cpp/${PLATFORM}/bins/${PLATFORM}`);
      expect(maps).toEqual(expect.arrayContaining([join(installed, 'native/out/cpu/architect_trainer.node'), `${libs}/libggml-base.so`]));
      // ggml's CPU backend, loaded from the folder the loader resolved from the addon's own place.
      expect(maps.some((p) => p.startsWith(`${libs}/libggml-cpu`))).toBe(true);

      const tempPath = join(work.path, 'merged.gguf.tmp');
      const end = new Promise<ExportMessage | string>((resolve) => {
        host.onMessage((m) => (m.type === 'done' || m.type === 'error') && resolve(m));
        host.onCrash((crash) => resolve(`${crash.reason}\n${crash.logTail.join('\n')}`));
      });
      host.send({ type: 'merge', modelPath, adapterPath, outPath: join(work.path, 'merged.gguf'), tempPath, threads: 1 });
      const done = await end;
      expect(done).toMatchObject({ type: 'done', path: tempPath });
      expect((done as { sha256: string }).sha256).toBe(createHash('sha256').update(readFileSync(tempPath)).digest('hex'));
      expect(await host.waitForExit(10_000)).toBe('exited');
    }, TIMEOUT);
  });
});
