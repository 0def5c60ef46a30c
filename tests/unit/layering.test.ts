import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkImport, findViolations, importsOf } from '../helpers/layering';

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

  it('sees every import form', () => {
    const source = `import a from './a';\nimport type { B } from "./b";\nexport { c } from './c';\nimport './d.css';\nconst e = await import('./e');\nconst f = require('./f');`;
    expect(importsOf(source)).toEqual(['./a', './b', './c', './d.css', './e', './f']);
  });
});
