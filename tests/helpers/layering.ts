import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** The one-way import rules of DESIGN.md, as (file → import) checks. */
// tests/ may import any layer, so it is not checked.
const LAYERS = ['shared', 'db', 'electron', 'renderer', 'native', 'bin'] as const;
const SOURCE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;
// A side-effect import (`import './x.css'`) starts a statement: a line or follows ';' (so not "the import's" in a
// comment, nor `className="import"` in JSX).
const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"`]*?from\s*['"]([^'"]+)['"]|(?:^|;)[ \t]*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|\brequire\(\s*['"]([^'"]+)['"]\s*\)/gm;

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

/** The npm package a bare specifier names ('react-dom/client' → 'react-dom', '@scope/x/y' → '@scope/x'); none for paths and Node built-ins. */
export function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || isNodeBuiltin(specifier)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * The npm packages a folder may import (those and their subpaths, no other), by its most specific
 * entry. From DESIGN and what each imports: the renderer is React + zustand (mermaid and chart.js
 * draw, zod checks) and reaches everything else through the contract; shared/ is pure (zod); db/ is
 * the SQLite store; native/ wraps the addon beside node-llama-cpp; the sandboxed preload exposes one
 * pipe. Folders without a list may import any package but PACKAGE_OWNERS' of other folders.
 */
export const PACKAGE_ALLOWED: Readonly<Record<string, readonly string[]>> = {
  renderer: ['react', 'react-dom', 'zustand', 'mermaid', 'chart.js', 'zod'],
  shared: ['zod'],
  db: ['better-sqlite3', 'zod'],
  native: ['node-llama-cpp'],
  'electron/preload': ['electron'],
};

/** Packages that belong to one part of the app: no other folder imports them ('electron' has its own rule above). */
export const PACKAGE_OWNERS: Readonly<Record<string, { readonly folders: readonly string[]; readonly what: string }>> = {
  react: { folders: ['renderer'], what: 'the UI' },
  'react-dom': { folders: ['renderer'], what: 'the UI' },
  zustand: { folders: ['renderer'], what: 'the UI' },
  'chart.js': { folders: ['renderer'], what: 'the UI' },
  'better-sqlite3': { folders: ['db'], what: 'the SQLite store' },
};

const within = (file: string, folder: string) => file === folder || file.startsWith(`${folder}/`);
const listed = (names: readonly string[]) => (names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names[0]);

function checkPackage(file: string, name: string): string | undefined {
  const scope = Object.keys(PACKAGE_ALLOWED)
    .filter((folder) => within(file, folder))
    .sort((a, b) => b.length - a.length)[0];
  if (scope && !PACKAGE_ALLOWED[scope]!.includes(name)) return `${scope}/ imports only the packages ${listed(PACKAGE_ALLOWED[scope]!)}, not '${name}'`;
  const owner = PACKAGE_OWNERS[name];
  if (owner && !owner.folders.some((folder) => within(file, folder))) {
    return `'${name}' is ${owner.what}'s: only ${owner.folders.map((f) => `${f}/`).join(' and ')} import${owner.folders.length > 1 ? '' : 's'} it`;
  }
  return undefined;
}

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
  const name = packageOf(specifier);
  return name === undefined ? undefined : checkPackage(file, name);
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
