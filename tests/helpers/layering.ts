import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** The one-way import rules of DESIGN.md, as (file → import) checks. */
// tests/ may import any layer, so it is not checked.
const LAYERS = ['shared', 'db', 'electron', 'renderer', 'native', 'bin'] as const;
const SOURCE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;
const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"`]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;(])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|\brequire\(\s*['"]([^'"]+)['"]\s*\)/gm;

export interface Violation {
  file: string;
  specifier: string;
  rule: string;
}

export function importsOf(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(IMPORT)) {
    const specifier = match[1] ?? match[2] ?? match[3] ?? match[4];
    if (specifier) found.push(specifier);
  }
  return found;
}

const isNodeBuiltin = (s: string) => s.startsWith('node:') || builtinModules.includes(s.split('/')[0]!);

/** Which rule, if any, `file` (relative to the repo, with '/') breaks by importing `specifier`. */
export function checkImport(file: string, specifier: string): string | undefined {
  const layer = file.split('/')[0];
  const sub = file.split('/').slice(0, 2).join('/');
  const target = specifier.startsWith('.') ? relative('.', join(dirname(file), specifier)).split(sep).join('/') : undefined;
  const targetLayer = target?.split('/')[0];
  if (target?.startsWith('..')) return 'imports from outside the repository';
  if (specifier === 'electron' || specifier.startsWith('electron/')) {
    if (sub !== 'electron/main' && sub !== 'electron/preload') return "only electron/main and electron/preload import 'electron'";
  }
  if (layer === 'shared') {
    if (targetLayer && targetLayer !== 'shared') return 'shared/ imports nothing from the other folders';
    if (isNodeBuiltin(specifier)) return 'shared/ is pure: no Node built-ins';
  }
  if (layer === 'renderer') {
    if (targetLayer && targetLayer !== 'renderer' && targetLayer !== 'shared') return 'renderer/ imports only shared/';
    if (isNodeBuiltin(specifier)) return 'renderer/ has no Node built-ins';
  }
  if (layer === 'db' && targetLayer && !['db', 'shared'].includes(targetLayer)) return 'db/ imports only shared/';
  if (sub === 'electron/core' && target && /^electron\/(main|preload|headless|trainer)\//.test(target)) {
    return 'electron/core/ does not import the glue, preload, host or trainer';
  }
  if (targetLayer === 'native' && layer !== 'native' && sub !== 'electron/trainer') return 'native/ is used by electron/trainer/ only';
  return undefined;
}

function* sourceFiles(root: string, dir: string): Generator<string> {
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'build') continue;
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) yield* sourceFiles(root, path);
    else if (SOURCE.test(entry.name)) yield path;
  }
}

export function findViolations(root: string): Violation[] {
  const violations: Violation[] = [];
  for (const layer of LAYERS) {
    let files: string[];
    try {
      files = [...sourceFiles(root, layer)];
    } catch {
      continue; // a layer that does not exist yet
    }
    for (const file of files) {
      for (const specifier of importsOf(readFileSync(resolve(root, file), 'utf8'))) {
        const rule = checkImport(file, specifier);
        if (rule) violations.push({ file, specifier, rule });
      }
    }
  }
  return violations;
}
