import type { ValidationResult } from '../../../shared/contract/validation';
import { unfence } from './fence';
import type { ScriptParse } from './parserHost';
import { Scorecard } from './scorecard';

/** How a language is checked: by the TypeScript compiler's parser, JSON.parse, or a heuristic. */
export type CodePlan =
  | { readonly parser: 'typescript'; readonly language: string; readonly fileNames: readonly string[] }
  | { readonly parser: 'json'; readonly language: 'json' }
  | { readonly parser: 'heuristic'; readonly language: string; readonly comments: CommentStyle; readonly charQuotes: boolean };

type CommentStyle = 'c' | 'hash' | 'sql';

const ALIASES: Record<string, string> = {
  ts: 'typescript', mts: 'typescript', cts: 'typescript', tsx: 'tsx', js: 'javascript', mjs: 'javascript', cjs: 'javascript',
  node: 'javascript', jsx: 'jsx', py: 'python', python3: 'python', rb: 'ruby', sh: 'shell', bash: 'shell', zsh: 'shell',
  'c++': 'cpp', cc: 'cpp', cs: 'csharp', 'c#': 'csharp', kt: 'kotlin', rs: 'rust', golang: 'go', yml: 'yaml',
};
const HASH_COMMENTS = new Set(['python', 'ruby', 'shell', 'yaml', 'perl', 'r', 'toml', 'dockerfile', 'makefile', 'elixir']);
/** Languages where '…' is a character literal (and a lone ' a Rust lifetime), not a string. */
const CHAR_QUOTES = new Set(['rust', 'c', 'cpp', 'java', 'go', 'csharp', 'kotlin', 'scala']);

/** The code to check and how: the declared language wins, then the fence's tag, then a guess from the text. */
export function planCode(text: string, declared: string | null): { code: string; plan: CodePlan; guessed: boolean } {
  const { body, tag } = unfence(text);
  const named = normalize(declared ?? tag ?? '');
  const language = named || guess(body);
  return { code: body, plan: planFor(language), guessed: !named };
}

function normalize(language: string): string {
  const lower = language.trim().toLowerCase();
  return ALIASES[lower] ?? lower;
}

function guess(code: string): string {
  const trimmed = code.trim();
  if (/^[[{]/.test(trimmed)) {
    try {
      JSON.parse(trimmed);
      return 'json';
    } catch {
      // not JSON after all
    }
  }
  if (/^\s*(def|class)\s+\w+[^\n{;]*:\s*$/m.test(code) || /^\s*from\s+[\w.]+\s+import\s+\w+/m.test(code)) return 'python';
  return 'typescript'; // a superset of JavaScript: the most common code a model writes here
}

function planFor(language: string): CodePlan {
  if (language === 'typescript') return { parser: 'typescript', language, fileNames: ['input.ts', 'input.tsx'] };
  if (language === 'tsx') return { parser: 'typescript', language, fileNames: ['input.tsx'] };
  if (language === 'javascript') return { parser: 'typescript', language, fileNames: ['input.js', 'input.jsx'] };
  if (language === 'jsx') return { parser: 'typescript', language, fileNames: ['input.jsx'] };
  if (language === 'json') return { parser: 'json', language };
  const comments = HASH_COMMENTS.has(language) ? 'hash' : language === 'sql' ? 'sql' : 'c';
  return { parser: 'heuristic', language, comments, charQuotes: CHAR_QUOTES.has(language) };
}

const PLACEHOLDER = /\b(TODO|FIXME)\b|your code here|implement (this|me)\b|^\s*(\/\/|#)?\s*\.\.\.\s*$/im;
const DECLARATION = /^\s*(export\s+|public\s+|private\s+|static\s+|async\s+|pub\s+)*(def|class|function|func|fn|interface|struct|enum|trait|impl|module|package|namespace|CREATE\s+(TABLE|VIEW|INDEX|FUNCTION)|type\s+\w+|(const|let|var|val)\s+\w+|[\w<>[\],\s]+\s+\w+\s*\([^)]*\)\s*\{)/im;

/**
 * Scores code out of 100: not empty (10), parses (60: the TypeScript compiler's parser for TS/JS,
 * JSON.parse for JSON, otherwise balanced brackets and quotes, a stated heuristic), declares something
 * (20), no placeholders such as TODO or "..." (10). `parsed` is the TypeScript parser's best result.
 */
export function scoreCode(code: string, plan: CodePlan, guessed: boolean, parsed: ScriptParse | null, validator: string): ValidationResult {
  const card = new Scorecard();
  if (guessed) card.note(`No language declared; checked as ${plan.language}`);
  const empty = code.trim().length === 0;
  card.check(!empty, empty ? 'The code is empty' : `${code.split('\n').length} lines of ${plan.language}`, 10);
  if (plan.parser === 'typescript') {
    if (!parsed || parsed.status === 'invalid') card.check(false, `The TypeScript parser failed: ${parsed?.error ?? 'no result'}`, 60);
    else {
      const first = parsed.diagnostics[0];
      card.check(
        !empty && !first,
        first ? `${parsed.diagnostics.length} syntax error(s); line ${first.line}: ${first.message}` : `Parses as ${plan.language} (TypeScript ${parsed.version})`,
        60,
      );
    }
    const declarations = parsed?.status === 'parsed' ? parsed.declarations : 0;
    card.check(declarations > 0, `${declarations} top-level declaration(s)`, 20);
  } else if (plan.parser === 'json') {
    const error = jsonError(code);
    card.check(!empty && !error, error ? `Not valid JSON: ${error}` : 'Parses as JSON', 60);
    card.check(!empty && !error, 'A JSON document declares its data', 20);
  } else {
    const problem = bracketProblem(code, plan.comments, plan.charQuotes);
    card.check(!empty && !problem, problem ? `Heuristic (no ${plan.language} parser here): ${problem}` : `Heuristic (no ${plan.language} parser here): brackets and quotes balance`, 60);
    const declares = DECLARATION.test(code);
    card.check(declares, declares ? 'Declares a function, type or value' : 'No function, type or value declaration found', 20);
  }
  const placeholder = PLACEHOLDER.exec(code);
  card.check(!placeholder, placeholder ? `Placeholder left in: "${placeholder[0].trim()}"` : 'No placeholders (TODO, "...")', 10);
  return card.result('code', validator);
}

function jsonError(code: string): string | null {
  try {
    JSON.parse(code);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

const CLOSE: Record<string, string> = { ')': '(', ']': '[', '}': '{' };

const CHAR_LITERAL = /^'(\\[^']{1,10}|[^'\\\n])'/;

/** Why brackets or quotes do not balance (strings and comments skipped), or null when they do. */
export function bracketProblem(code: string, comments: CommentStyle, charQuotes = false): string | null {
  const stack: { char: string; line: number }[] = [];
  let line = 1;
  for (let i = 0; i < code.length; i++) {
    const c = code[i]!;
    if (c === '\n') line++;
    const lineComment = (comments === 'hash' && c === '#') || (comments !== 'hash' && c === '/' && code[i + 1] === '/') || (comments === 'sql' && c === '-' && code[i + 1] === '-');
    if (lineComment) {
      while (i < code.length && code[i] !== '\n') i++;
      line++;
      continue;
    }
    if (comments !== 'hash' && c === '/' && code[i + 1] === '*') {
      const end = code.indexOf('*/', i + 2);
      if (end < 0) return `a /* comment opened on line ${line} never closes`;
      line += code.slice(i, end).split('\n').length - 1;
      i = end + 1;
      continue;
    }
    if (c === "'" && charQuotes) {
      i += (CHAR_LITERAL.exec(code.slice(i, i + 14))?.[0].length ?? 1) - 1; // a char literal, or a lifetime's tick
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      const triple = code.startsWith(c.repeat(3), i);
      const quote = triple ? c.repeat(3) : c;
      let j = i + quote.length;
      for (; j < code.length; j++) {
        if (code[j] === '\\') j++;
        else if (code.startsWith(quote, j)) break;
        else if (code[j] === '\n' && !triple && c !== '`') break;
      }
      // A lone ' is a Rust lifetime or an apostrophe more often than a broken string.
      if (c === "'" && !triple && code[j] !== "'") continue;
      if (code[j] === '\n' && !triple && c !== '`') return `a string opened on line ${line} runs past the end of the line`;
      if (j >= code.length) return `a string opened on line ${line} never closes`;
      line += code.slice(i, j).split('\n').length - 1;
      i = j + quote.length - 1;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') stack.push({ char: c, line });
    else if (c in CLOSE) {
      const open = stack.pop();
      if (!open) return `an unmatched "${c}" on line ${line}`;
      if (open.char !== CLOSE[c]) return `"${open.char}" from line ${open.line} is closed by "${c}" on line ${line}`;
    }
  }
  const open = stack.pop();
  return open ? `"${open.char}" opened on line ${open.line} never closes` : null;
}
