// Builds everything `npm start`, `architect` and the packaged app run: the renderer with Vite, and the
// Node/Electron entry points with esbuild (main and CLI as ESM, the sandboxed preload as one CommonJS file).
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { build as esbuild } from 'esbuild';
import { build as vite } from 'vite';

const node = { bundle: true, platform: 'node', target: 'node20', sourcemap: 'linked', logLevel: 'warning' };

const started = Date.now();
await Promise.all([
  esbuild({
    ...node,
    entryPoints: {
      'main/index': 'electron/main/index.ts',
      'bench/index': 'tests/bench/index.ts',
      // A worker thread's entry of its own; the core finds it at out/workers/ (electron/core/datasets/importHost.ts).
      'workers/datasetImport': 'electron/core/datasets/importWorker.ts',
      'workers/trainer': 'electron/trainer/worker.ts',
      'workers/export': 'electron/trainer/exportWorker.ts',
    },
    outdir: 'out',
    format: 'esm',
    // Dependencies (native ones above all) load from node_modules, unbundled.
    packages: 'external',
  }),
  // The CLI split into chunks, next to out/cli/index.js (paths the code resolves from its own file, such as
  // ../workers/ and ../renderer/, hold in every chunk): bin/cli/index.ts imports each command only when it
  // runs, so `architect --help` loads none of the commands' dependencies.
  esbuild({ ...node, entryPoints: { 'cli/index': 'bin/cli/index.ts' }, outdir: 'out', format: 'esm', packages: 'external', splitting: true, chunkNames: 'cli/[name]-[hash]', metafile: true }).then(pruneChunks),
  // A sandboxed preload cannot require modules: everything but electron is bundled in.
  esbuild({ ...node, entryPoints: ['electron/preload/index.ts'], outfile: 'out/preload/index.cjs', format: 'cjs', minify: true, external: ['electron'] }),
  vite({ configFile: 'vite.config.ts', logLevel: 'warn' }),
]);
// The table `architect --help` answers from (out/cli/commands.json), written by the commands themselves.
const table = spawnSync(process.execPath, ['--input-type=module', '-e', "await (await import('./out/cli/index.js')).writeCommandTable()"], { stdio: 'inherit' });
if (table.status !== 0) throw new Error('writing out/cli/commands.json failed (see above)');
console.log(`built out/ in ${Date.now() - started} ms`);

/**
 * Removes the chunks of earlier builds, once ten minutes old: a CLI process started before this build may still
 * import the chunks its index.js names (hashed names, so a new build never overwrites them).
 */
function pruneChunks({ metafile }) {
  const dir = 'out/cli';
  const current = new Set(Object.keys(metafile.outputs));
  for (const name of readdirSync(dir)) {
    const path = `${dir}/${name}`;
    if (!/-[A-Z0-9]{8}\.js(\.map)?$/.test(name)) continue; // only chunks: index.js and commands.json stay
    if (!current.has(path) && Date.now() - statSync(path).mtimeMs > 10 * 60_000) rmSync(path, { force: true });
  }
}
