// Builds everything `npm start`, `architect` and the packaged app run: the renderer with Vite, and the
// Node/Electron entry points with esbuild (main and CLI as ESM, the sandboxed preload as one CommonJS file).
import { build as esbuild } from 'esbuild';
import { build as vite } from 'vite';

const node = { bundle: true, platform: 'node', target: 'node20', sourcemap: 'linked', logLevel: 'warning' };

const started = Date.now();
await Promise.all([
  esbuild({
    ...node,
    entryPoints: {
      'main/index': 'electron/main/index.ts',
      'cli/index': 'bin/cli/index.ts',
      'bench/index': 'tests/bench/index.ts',
      // A worker thread's entry of its own; the core finds it at out/workers/ (electron/core/datasets/importHost.ts).
      'workers/datasetImport': 'electron/core/datasets/importWorker.ts',
      'workers/trainer': 'electron/trainer/worker.ts',
    },
    outdir: 'out',
    format: 'esm',
    // Dependencies (native ones above all) load from node_modules, unbundled.
    packages: 'external',
  }),
  // A sandboxed preload cannot require modules: everything but electron is bundled in.
  esbuild({ ...node, entryPoints: ['electron/preload/index.ts'], outfile: 'out/preload/index.cjs', format: 'cjs', minify: true, external: ['electron'] }),
  vite({ configFile: 'vite.config.ts', logLevel: 'warn' }),
]);
console.log(`built out/ in ${Date.now() - started} ms`);
