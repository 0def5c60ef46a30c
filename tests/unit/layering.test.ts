import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkImport, findViolations, importsOf, packageOf } from '../helpers/layering';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('layering (DESIGN.md: imports point one way)', () => {
  it('holds for the whole tree', () => {
    expect(findViolations(root)).toEqual([]);
  });

  it('catches each kind of wrong import', () => {
    expect(checkImport('shared/rpc/x.ts', '../../electron/core/paths')).toMatch(/shared/);
    expect(checkImport('shared/x.ts', 'node:fs')).toMatch(/pure/);
    expect(checkImport('renderer/src/a.ts', '../../db/connection')).toMatch(/renderer/);
    expect(checkImport('renderer/src/a.ts', 'fs')).toMatch(/renderer/);
    expect(checkImport('electron/core/a.ts', 'electron')).toMatch(/only electron\/main/);
    expect(checkImport('renderer/src/a.ts', 'electron')).toMatch(/only electron\/main/);
    expect(checkImport('electron/core/a.ts', '../main/ipc')).toMatch(/core/);
    expect(checkImport('db/a.ts', '../electron/core/x')).toMatch(/db/);
    expect(checkImport('bin/cli/a.ts', '../../native/addon')).toMatch(/native/);
  });

  it('allows the imports the design allows', () => {
    expect(checkImport('renderer/src/a.ts', '../../shared/format')).toBeUndefined();
    expect(checkImport('electron/main/index.ts', 'electron')).toBeUndefined();
    expect(checkImport('electron/preload/index.ts', 'electron')).toBeUndefined();
    expect(checkImport('electron/core/a.ts', '../../shared/errors')).toBeUndefined();
    expect(checkImport('bin/cli/a.ts', '../../electron/core/services')).toBeUndefined();
    expect(checkImport('shared/a.ts', 'zod')).toBeUndefined();
  });

  it('refuses the npm packages a layer must not use', () => {
    const refused: [string, string, RegExp][] = [
      // renderer/: React + zustand (mermaid, chart.js, zod), everything else through the contract.
      ['renderer/src/stores/x.ts', 'better-sqlite3', /renderer\/ imports only the packages react, .*zod, not 'better-sqlite3'/],
      ['renderer/src/a.tsx', 'node-llama-cpp', /renderer\/ imports only .*not 'node-llama-cpp'/],
      ['renderer/src/a.tsx', 'ws', /renderer\/ imports only/],
      ['renderer/src/a.tsx', 'reactive', /renderer\/ imports only .*not 'reactive'/], // a prefix of an allowed name is another package
      ['renderer/src/a.tsx', '@vitejs/plugin-react', /not '@vitejs\/plugin-react'/],
      // shared/: pure, zod only.
      ['shared/contract/x.ts', 'yaml', /shared\/ imports only the packages zod, not 'yaml'/],
      ['shared/x.ts', 'react', /shared\/ imports only/],
      ['shared/x.ts', 'better-sqlite3', /shared\/ imports only/],
      // db/: better-sqlite3 and zod.
      ['db/x.ts', 'node-llama-cpp', /db\/ imports only the packages better-sqlite3 and zod, not 'node-llama-cpp'/],
      ['db/migrations/x.ts', 'react', /db\/ imports only/],
      // native/: node-llama-cpp beside the addon.
      ['native/index.ts', 'better-sqlite3', /native\/ imports only the packages node-llama-cpp, not 'better-sqlite3'/],
      ['native/index.ts', 'zod', /native\/ imports only/],
      // The sandboxed preload: electron only.
      ['electron/preload/index.ts', 'zod', /electron\/preload\/ imports only the packages electron, not 'zod'/],
      // The UI's packages and the store's driver belong to their layers.
      ['electron/core/x.ts', 'react', /'react' is the UI's: only renderer\/ imports it/],
      ['electron/core/x.ts', 'react-dom/server', /'react-dom' is the UI's/],
      ['electron/core/x.ts', 'zustand', /'zustand' is the UI's/],
      ['electron/core/x.ts', 'better-sqlite3', /'better-sqlite3' is the SQLite store's: only db\/ imports it/],
      ['electron/main/index.ts', 'react', /the UI's/],
      ['electron/headless/host.ts', 'better-sqlite3', /SQLite store's/],
      ['electron/trainer/engine.ts', 'chart.js', /the UI's/],
      ['bin/cli/x.ts', 'better-sqlite3', /SQLite store's/],
      ['electron/core/x.ts', 'electron', /only electron\/main/],
    ];
    for (const [file, specifier, rule] of refused) expect(checkImport(file, specifier), `${file} → ${specifier}`).toMatch(rule);
  });

  it('allows the npm packages each layer uses', () => {
    const allowed: [string, string][] = [
      ['renderer/src/main.tsx', 'react'],
      ['renderer/src/main.tsx', 'react-dom/client'],
      ['renderer/src/stores/x.ts', 'zustand'],
      ['renderer/src/stores/x.ts', 'zustand/middleware'],
      ['renderer/src/components/MermaidPreview.tsx', 'mermaid'],
      ['renderer/src/components/Chart.tsx', 'chart.js'],
      ['renderer/src/components/Chart.tsx', 'chart.js/auto'],
      ['renderer/src/api/x.ts', 'zod'],
      ['shared/contract/x.ts', 'zod'],
      ['shared/contract/x.ts', 'zod/v4'],
      ['db/connection.ts', 'better-sqlite3'],
      ['db/settings.ts', 'zod'],
      ['native/index.ts', 'node-llama-cpp'],
      ['native/index.ts', 'node:fs'],
      ['electron/preload/index.ts', 'electron'],
      ['electron/main/index.ts', 'electron'],
      ['electron/core/validation/apiDoc.ts', 'yaml'],
      ['electron/core/hardware.ts', 'systeminformation'],
      ['electron/core/ollama.ts', 'ollama'],
      ['electron/core/generation/x.ts', 'node-llama-cpp'],
      ['electron/core/validation/x.ts', 'mermaid'],
      ['electron/headless/host.ts', 'ws'],
      ['electron/trainer/engine.ts', 'node-llama-cpp'],
      ['bin/build.mjs', 'esbuild'],
      ['db/x.ts', 'node:fs'],
    ];
    for (const [file, specifier] of allowed) expect(checkImport(file, specifier), `${file} → ${specifier}`).toBeUndefined();
  });

  it('names the package of a specifier', () => {
    expect(packageOf('react-dom/client')).toBe('react-dom');
    expect(packageOf('@vitejs/plugin-react')).toBe('@vitejs/plugin-react');
    expect(packageOf('@scope/pkg/sub/path')).toBe('@scope/pkg');
    expect(packageOf('chart.js/auto')).toBe('chart.js');
    expect(packageOf('./a')).toBeUndefined();
    expect(packageOf('../../shared/x')).toBeUndefined();
    expect(packageOf('node:fs')).toBeUndefined();
    expect(packageOf('fs/promises')).toBeUndefined();
  });

  it('sees every import form', () => {
    const source = `import a from './a';\nimport type { B } from "./b";\nexport { c } from './c';\nimport './d.css';\nconst e = await import('./e');\nconst f = require('./f');`;
    expect(importsOf(source)).toEqual(['./a', './b', './c', './d.css', './e', './f']);
    expect(importsOf(`import 'x';import "./y";`)).toEqual(['x', './y']);
  });

  it('takes no text for an import', () => {
    // Words in comments and JSX are not side-effect imports (these once read as the packages "s progress…" and " aria-label=").
    const source = `/** Datasets: import by drop or pick, the import's progress and the list. */\nconst a = <article className="card import" aria-label="Import">x</article>;`;
    expect(importsOf(source)).toEqual([]);
  });
});
