import { z } from 'zod';
import { defineMethod, defineService } from '../rpc/contract';

export const ArtifactKind = z.enum(['erd', 'flowchart', 'sequence', 'api-doc', 'code', 'other']);
export type ArtifactKind = z.infer<typeof ArtifactKind>;

/** The largest text (prompt, output, correction) the store takes: 1 MiB of UTF-8. */
export const MAX_TEXT_BYTES = 1024 * 1024;

/** UTF-8 length without allocating; the text limits are in bytes, as stored. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      bytes += 4; // a surrogate pair: one 4-byte code point
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** A text of at most 1 MiB (UTF-8). */
export const Text = z.string().refine((s) => s.length * 3 <= MAX_TEXT_BYTES || utf8Length(s) <= MAX_TEXT_BYTES, {
  error: `is over 1 MiB (the limit is ${MAX_TEXT_BYTES} bytes of UTF-8)`,
});

/** A language name for code, e.g. "typescript", "python". */
export const Language = z.string().trim().min(1).max(40).regex(/^[\w#+.-]+$/, { error: 'is not a language name' });

/** One check a validator made: passed or not, and the points it was worth. */
export const ValidationReason = z.object({
  ok: z.boolean(),
  text: z.string(),
  points: z.number().min(0),
  of: z.number().min(0),
});
export type ValidationReason = z.infer<typeof ValidationReason>;

export const Score = z.number().min(0).max(100);

export const ValidationResult = z.object({
  kind: ArtifactKind,
  /** 0–100: the points of the checks that passed. */
  score: Score,
  reasons: z.array(ValidationReason),
  /** What checked it, e.g. "mermaid 11.17.2", "typescript 5.9.3", "heuristic". */
  validator: z.string(),
});
export type ValidationResult = z.infer<typeof ValidationResult>;

export const validationService = defineService({
  methods: {
    check: defineMethod({
      summary: 'Validate a text as an artifact of a kind (Mermaid, API doc, code) without storing anything.',
      args: z.object({ kind: ArtifactKind, text: Text, language: Language.optional() }).strict(),
      result: ValidationResult,
    }),
  },
  events: {},
});
