import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GeneratedKind } from '../../../shared/contract/generation';
import type { PromptTemplate } from '../../../shared/contract/generation';
import { AppError } from '../../../shared/errors';
import { parsePromptTemplate } from '../../../shared/prompts';
import type { PromptTemplates } from '../../../shared/prompts';
import { resourcesDir } from '../resources';

/** Template files are small; anything larger is not a template. */
const MAX_TEMPLATE_BYTES = 64 * 1024;

async function readSmall(path: string): Promise<string | undefined> {
  try {
    const text = await readFile(path, 'utf8');
    if (Buffer.byteLength(text) > MAX_TEMPLATE_BYTES) throw new AppError('invalid_arguments', `${path}: a prompt template is at most 64 KiB`);
    return text;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * The prompt template of every generated kind: `<dataDir>/prompts/<kind>.md` when the user made one (it
 * wins), else the built-in `resources/prompts/<kind>.md`. A broken user copy is an error naming its file and
 * line, never silently replaced by the built-in one: the user meant that text.
 */
export async function loadPromptTemplates(dataDir: string | undefined, builtinDir = join(resourcesDir(), 'prompts')): Promise<PromptTemplate[]> {
  return Promise.all(
    GeneratedKind.options.map(async (kind) => {
      const userPath = dataDir ? join(dataDir, 'prompts', `${kind}.md`) : undefined;
      const userText = userPath ? await readSmall(userPath) : undefined;
      const path = userText !== undefined ? userPath! : join(builtinDir, `${kind}.md`);
      const text = userText ?? (await readSmall(path));
      if (text === undefined) throw new AppError('internal', `The built-in prompt template ${path} is missing: reinstall the app.`);
      try {
        return { kind, ...parsePromptTemplate(text, path), source: userText !== undefined ? 'user' : 'builtin', path } as const;
      } catch (error) {
        throw new AppError('invalid_arguments', `${(error as Error).message}. Fix the file or delete it to use the built-in template.`);
      }
    }),
  );
}

/** The templates by kind, as the renderer of prompts takes them. */
export function byKind(templates: readonly PromptTemplate[]): PromptTemplates {
  return Object.fromEntries(templates.map((t) => [t.kind, { system: t.system, user: t.user }]));
}
