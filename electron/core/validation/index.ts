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

  async check(request: ValidationRequest): Promise<ValidationResult> {
    const { kind, text } = request;
    switch (kind) {
      case 'erd':
      case 'flowchart':
      case 'sequence': {
        const parse = await this.parsers.parseMermaid(diagramText(text).body);
        return scoreDiagram(kind, text, parse, `mermaid ${PARSER_VERSIONS.mermaid}`);
      }
      case 'api-doc':
        return validateApiDoc(text);
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
