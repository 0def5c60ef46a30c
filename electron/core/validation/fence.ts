/** A text with its Markdown code fence removed, and the fence's info string (e.g. "mermaid", "ts"). */
export interface Unfenced {
  readonly body: string;
  /** The fence's language tag, lower case; null when there was no fence. */
  readonly tag: string | null;
  /** True when prose surrounded the fenced block. */
  readonly hadProse: boolean;
}

const FENCE = /^( {0,3})(`{3,}|~{3,})[ \t]*([^\s`]*)[^\n]*\n([\s\S]*?)\n {0,3}\2[ \t]*$/m;

/**
 * Models often wrap their output in a ```lang fence, sometimes with a sentence around it. Takes the
 * first fenced block whose tag is in `preferred` (or the first block at all) out of the text.
 */
export function unfence(text: string, preferred: readonly string[] = []): Unfenced {
  const blocks: { tag: string; body: string; start: number; end: number }[] = [];
  const pattern = new RegExp(FENCE.source, 'gm');
  for (const match of text.matchAll(pattern)) {
    blocks.push({ tag: match[3]!.toLowerCase(), body: match[4]!, start: match.index, end: match.index + match[0].length });
  }
  if (blocks.length === 0) return { body: text, tag: null, hadProse: false };
  const chosen = blocks.find((b) => preferred.includes(b.tag)) ?? blocks[0]!;
  const outside = text.slice(0, chosen.start) + text.slice(chosen.end);
  return { body: chosen.body, tag: chosen.tag || null, hadProse: outside.trim().length > 0 };
}
