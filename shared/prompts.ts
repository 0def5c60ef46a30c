import type { ArtifactKind } from './contract/validation';
import { SYSTEM_PROMPT } from './training/config';

/** A template's two parts: the system message, and the user turn around the requirements. */
export interface PromptTemplateText {
  readonly system: string;
  readonly user: string;
}

/** One conversation turn as the model sees it. */
export interface ChatTurn {
  readonly system: string;
  readonly user: string;
}

export const REQUIREMENTS_SLOT = '{{requirements}}';

/** The templates by kind; a kind with none (and "other") gets the plain system prompt and the text as is. */
export type PromptTemplates = Readonly<Partial<Record<ArtifactKind, PromptTemplateText>>>;

/**
 * Parses a template file: the system message, a line `---`, then the user turn with `{{requirements}}`.
 * Errors name the file and line.
 */
export function parsePromptTemplate(text: string, file: string): PromptTemplateText {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const rule = lines.findIndex((line) => line.trim() === '---');
  if (rule < 0) throw new Error(`${file}: needs a line "---" between the system message (above) and the user turn (below)`);
  const system = lines.slice(0, rule).join('\n').trim();
  const user = lines.slice(rule + 1).join('\n').trim();
  if (!system) throw new Error(`${file}:1: the system message above "---" (line ${rule + 1}) is empty`);
  if (!user.includes(REQUIREMENTS_SLOT)) {
    throw new Error(`${file}:${rule + 2}: the user turn below "---" must contain ${REQUIREMENTS_SLOT}, where the requirements go`);
  }
  return { system, user };
}

/** The turn for `requirements` of `kind`: the one rendering training and generation share. */
export function chatTurn(templates: PromptTemplates, kind: ArtifactKind | null | undefined, requirements: string): ChatTurn {
  const template = kind ? templates[kind] : undefined;
  if (!template) return { system: SYSTEM_PROMPT, user: requirements };
  // split/join, not replace: a "$&" in the requirements must stay literal.
  return { system: template.system, user: template.user.split(REQUIREMENTS_SLOT).join(requirements.trim()) };
}

const FENCE = /^\s*```[ \t]*(?:mermaid)?[ \t]*\r?\n([\s\S]*?)\r?\n[ \t]*```/m;

/**
 * A diagram reply's Mermaid: the first fenced block's body (```mermaid or a bare fence), else the text as
 * it is. Models often wrap diagrams in a fence with a sentence around it; the validator wants the diagram.
 */
export function unwrapMermaid(text: string): { text: string; unwrapped: boolean } {
  const match = FENCE.exec(text);
  if (!match) return { text, unwrapped: false };
  return { text: match[1]!.trim(), unwrapped: true };
}
