import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { CatalogEntry } from '../../../shared/contract/models';
import type { CatalogFile } from '../../../shared/contract/models';
import { AppError } from '../../../shared/errors';
import { resourcesDir } from '../resources';
import { checkDownloadUri } from './uri';

/** resources/models.json of the repository or the installed app (found the way the prompt templates are). */
export function defaultCatalogFile(): string {
  return join(resourcesDir(), 'models.json');
}

const CatalogFileShape = z.object({ note: z.string().optional(), models: z.array(z.unknown()) });

/**
 * Reads and checks the catalog: every entry against the contract's CatalogEntry, unique ids, unique
 * quantizations per model, download URIs the downloader takes, at most one default. A bad file is an
 * `internal` error naming the file, the entry and the field.
 */
export function loadCatalog(file: string = defaultCatalogFile()): CatalogEntry[] {
  const bad = (detail: string) => new AppError('internal', `The model catalog ${file} is invalid: ${detail}. Fix or restore the file.`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new AppError('internal', `The model catalog ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}). Reinstall the app or restore the file.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw bad(`not JSON (${(error as Error).message})`);
  }
  const top = CatalogFileShape.safeParse(json);
  if (!top.success) throw bad('expected an object with a "models" array');
  const entries: CatalogEntry[] = [];
  const ids = new Set<string>();
  top.data.models.forEach((raw, index) => {
    const id = typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'string' ? (raw as { id: string }).id : undefined;
    const where = `models[${index}]${id ? ` ("${id}")` : ''}`;
    const parsed = CatalogEntry.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw bad(`${where}, field ${issue.path.map(String).join('.') || '(entry)'}: ${issue.message}`);
    }
    const entry = parsed.data;
    if (ids.has(entry.id)) throw bad(`${where}: the id "${entry.id}" is used twice`);
    ids.add(entry.id);
    const quants = new Set<string>();
    entry.files.forEach((f: CatalogFile, i) => {
      if (quants.has(f.quant)) throw bad(`${where}, field files.${i}.quant: "${f.quant}" is listed twice`);
      quants.add(f.quant);
      const problem = checkDownloadUri(f.uri);
      if (problem) throw bad(`${where}, field files.${i}.uri: ${problem}`);
    });
    entries.push(entry);
  });
  const defaults = entries.filter((e) => e.default);
  if (defaults.length > 1) throw bad(`more than one default model (${defaults.map((e) => e.id).join(', ')})`);
  return entries;
}

/** A catalog file by quantization (case-insensitive), default: the 4-bit Q4_K_M, else the first file. */
export function pickFile(entry: CatalogEntry, quant?: string): CatalogFile | undefined {
  if (quant === undefined) return entry.files.find((f) => f.quant === 'Q4_K_M') ?? entry.files.find((f) => f.bits === 4) ?? entry.files[0];
  return entry.files.find((f) => f.quant.toLowerCase() === quant.toLowerCase());
}
