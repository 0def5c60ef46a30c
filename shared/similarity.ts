/**
 * How alike two texts are, from 1 (identical) to 0 (nothing in common): the Dice coefficient of their
 * character-trigram multisets. It is linear in the texts' length (a 1 MB correction costs tens of
 * milliseconds, where an edit distance would be quadratic) and tracks edit size: changing k characters
 * of an n-character text removes about 3k of its n trigrams. Moving whole lines around scores as small.
 */
export function textSimilarity(a: string, b: string): number {
  const x = normalize(a);
  const y = normalize(b);
  if (x === y) return 1;
  const counts = new Map<number, number>();
  let sizeA = 0;
  forEachTrigram(x, (key) => {
    counts.set(key, (counts.get(key) ?? 0) + 1);
    sizeA++;
  });
  let sizeB = 0;
  let shared = 0;
  forEachTrigram(y, (key) => {
    sizeB++;
    const left = counts.get(key);
    if (left) {
      shared++;
      counts.set(key, left - 1);
    }
  });
  return (2 * shared) / (sizeA + sizeB);
}

function normalize(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

/** Calls `visit` with each trigram as one number; two sentinels at each end give every text trigrams. */
function forEachTrigram(text: string, visit: (key: number) => void): void {
  const SENTINEL = 0x10000; // outside the UTF-16 code unit range, so never a real character
  let a = SENTINEL;
  let b = SENTINEL;
  for (let i = 0; i <= text.length + 1; i++) {
    const c = i < text.length ? text.charCodeAt(i) : SENTINEL;
    // 17 bits per unit: the key stays below 2^51, an exact integer in a double.
    visit((a * 0x20000 + b) * 0x20000 + c);
    a = b;
    b = c;
  }
}
