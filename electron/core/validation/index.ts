import type { ArtifactKind, ValidationResult } from '../../../shared/contract/validation';
import { AppError } from '../../../shared/errors';
import { validateApiDoc } from './apiDoc';
import { planCode, scoreCode } from './code';
import { diagramText, scoreDiagram } from './mermaid';
import { PARSER_VERSIONS, ParserHost } from './parserHost';
import type { ParserHostOptions, ScriptParse } from './parserHost';

export interface ValidationRequest {
  readonly kind: ArtifactKind;
  readonly text: string;
  /** For code: the declared language (else a fence tag or a guess). */
  readonly language?: string | null;
}

/**
 * The longest text validated, per kind, in characters (what String.length counts): a longer one is refused before
 * anything parses it or is sent to the worker. Measured on the parsers as they run here (the worker, 1024 MiB heap):
 * - Mermaid: a sequence diagram of 256 KiB parses in 6.5–8 s, 384 KiB in 9.4 s, 1 MiB in 22 s; an ER diagram of
 *   256 KiB in 2–3.5 s, 1 MiB in 16 s. 256 KiB stays inside the 10 s timeout, and is more than the longest
 *   generation (32 768 tokens) writes.
 * - TypeScript: 1 MiB of code parses in 0.3–1 s within a 128 MiB heap: all that the contract's texts hold (1 MiB).
 * - API docs: OpenAPI YAML of 256 KiB parses in 0.4 s (1 MiB: 3 s), in the worker too; Markdown is heuristics.
 */
export const MAX_VALIDATED_CHARS = { diagram: 256 * 1024, 'api-doc': 256 * 1024, code: 1024 * 1024 } as const;

const DIAGRAM = { max: MAX_VALIDATED_CHARS.diagram, what: 'a Mermaid diagram', why: 'Mermaid takes longer than its 10 s limit on larger ones' };
const LIMITS: Record<Exclude<ArtifactKind, 'other'>, { max: number; what: string; why: string }> = {
  erd: DIAGRAM,
  flowchart: DIAGRAM,
  sequence: DIAGRAM,
  'api-doc': { max: MAX_VALIDATED_CHARS['api-doc'], what: 'an API document', why: 'a larger one takes the YAML parser seconds' },
  code: { max: MAX_VALIDATED_CHARS.code, what: 'code', why: 'the parser needs more time and memory for more' },
};

/** The error for a text over its kind's limit, naming its length and the limit; undefined when it is within it. */
function tooLong(kind: ArtifactKind, text: string): AppError | undefined {
  if (kind === 'other') return undefined;
  const { max, what, why } = LIMITS[kind];
  if (text.length <= max) return undefined;
  return new AppError(
    'invalid_arguments',
    `The ${kind} text is ${text.length} characters long: validation takes at most ${max} (${max / 1024} Ki) for ${what}, since ${why}. It was not validated.`,
    { field: 'text' },
  );
}

/** Scores artifacts 0–100 with reasons: Mermaid diagrams, API docs and code (see each validator's doc). */
export class ValidationService {
  private readonly parsers: ParserHost;

  constructor(options: ParserHostOptions = {}) {
    this.parsers = new ParserHost(options);
  }

  /** Whether a kind has a validator ("other" has none). */
  static supports(kind: ArtifactKind): boolean {
    return kind !== 'other';
  }

  /** Scores `request.text`; a text over its kind's MAX_VALIDATED_CHARS is refused (invalid_arguments on `text`), unparsed. */
  async check(request: ValidationRequest): Promise<ValidationResult> {
    const { kind, text } = request;
    const refusal = tooLong(kind, text);
    if (refusal) throw refusal;
    switch (kind) {
      case 'erd':
      case 'flowchart':
      case 'sequence': {
        const parse = await this.parsers.parseMermaid(diagramText(text).body);
        return scoreDiagram(kind, text, parse, `mermaid ${PARSER_VERSIONS.mermaid}`);
      }
      case 'api-doc':
        return validateApiDoc(text, (body) => this.parsers.parseDocument(body));
      case 'code':
        return this.checkCode(text, request.language ?? null);
      case 'other':
        throw new AppError('invalid_arguments', 'There is no validator for artifacts of kind "other".', { field: 'kind' });
    }
  }

  dispose(): Promise<void> {
    return this.parsers.dispose();
  }

  private async checkCode(text: string, language: string | null): Promise<ValidationResult> {
    const { code, plan, guessed } = planCode(text, language);
    if (plan.parser !== 'typescript') return scoreCode(code, plan, guessed, null, plan.parser === 'json' ? 'JSON.parse' : 'heuristic');
    // .ts then .tsx (JSX and TypeScript's <T> casts exclude each other): the parse with fewer errors wins.
    let best: ScriptParse | null = null;
    for (const fileName of plan.fileNames) {
      const parsed = await this.parsers.parseScript(code, fileName);
      if (!best || errors(parsed) < errors(best)) best = parsed;
      if (errors(best) === 0) break;
    }
    return scoreCode(code, plan, guessed, best, `typescript ${PARSER_VERSIONS.typescript}`);
  }
}

const errors = (parse: ScriptParse) => (parse.status === 'parsed' ? parse.diagnostics.length : Number.POSITIVE_INFINITY);
