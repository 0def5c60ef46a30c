import { useEffect, useRef, useState } from 'react';
import type { Mermaid } from 'mermaid';
import { currentTheme, useResolvedTheme } from '../theme';

/** Mermaid is large: it loads on the first preview, once; it is set up for the page's theme before each render. */
let loading: Promise<Mermaid> | undefined;
let setUpFor: string | undefined;
function loadMermaid(): Promise<Mermaid> {
  loading ??= import('mermaid').then(({ default: mermaid }) => mermaid);
  return loading.then((mermaid) => {
    const theme = currentTheme() === 'light' ? 'default' : 'dark';
    if (setUpFor !== theme) mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme });
    setUpFor = theme;
    return mermaid;
  });
}

let renderCount = 0;

const FENCE = /^ {0,3}(`{3,}|~{3,})[ \t]*([^\s`]*)[^\n]*\n([\s\S]*?)(?:\n {0,3}\1[ \t]*$|$(?![\s\S]))/m;

/**
 * The diagram inside a ```mermaid fence, when the text has one (models often wrap their reply), with the
 * number of lines before it so error line numbers match the editor.
 */
export function diagramOf(text: string): { body: string; lineOffset: number } {
  const match = FENCE.exec(text);
  if (!match) return { body: text, lineOffset: 0 };
  const before = text.slice(0, match.index);
  return { body: match[3]!, lineOffset: before.split('\n').length };
}

/** A parse error's line in the diagram (1-based): from jison's `hash.loc`, or "line N" in the message. */
export function errorLine(error: unknown): number | undefined {
  const hash = (error as { hash?: { loc?: { first_line?: unknown }; line?: unknown } } | null)?.hash;
  if (typeof hash?.loc?.first_line === 'number') return hash.loc.first_line;
  if (typeof hash?.line === 'number') return hash.line + 1; // jison's yylineno counts from 0
  const message = error instanceof Error ? error.message : String(error);
  const match = /line[: ]+(\d+)/i.exec(message);
  return match ? Number(match[1]) : undefined;
}

/** The error without mermaid's own "Parse error on line N:" (its count can differ from `hash.loc`; the heading has the line). */
function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^\s*Parse error on line \d+:\s*/i, '').trim().slice(0, 600);
}

type Preview =
  | { state: 'empty' }
  | { state: 'loading' }
  | { state: 'ok'; svg: string }
  | { state: 'error'; line: number | undefined; message: string; lastSvg: string | undefined };

/**
 * A live Mermaid rendering of `text`, debounced (300 ms, and at least every 600 ms while text keeps arriving, as
 * it does while a generation streams). A text that does not parse shows mermaid's error with its line (counted
 * in the editor's text); the last good diagram stays, dimmed, beneath it. One render runs at a time, always of the newest
 * text; a result older than the one shown is dropped.
 */
export function MermaidPreview({ text, delayMs = 300 }: { text: string; delayMs?: number }) {
  const [preview, setPreview] = useState<Preview>({ state: 'empty' });
  // A change of theme draws the diagram again in its colours.
  const theme = useResolvedTheme();
  const lastSvg = useRef<string | undefined>(undefined);
  const pendingSince = useRef<number | undefined>(undefined);
  const started = useRef(0);
  const shown = useRef(0);
  const mounted = useRef(false);
  /** One render at a time; text that arrives meanwhile waits here, and only the newest is rendered next. */
  const rendering = useRef(false);
  const queued = useRef<{ text: string; run: number } | undefined>(undefined);

  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  useEffect(() => {
    if (text.trim() === '') {
      pendingSince.current = undefined;
      shown.current = ++started.current; // renders still under way are out of date
      lastSvg.current = undefined;
      setPreview({ state: 'empty' });
      return;
    }
    const now = performance.now();
    pendingSince.current ??= now;
    const wait = Math.max(0, Math.min(delayMs, pendingSince.current + 2 * delayMs - now));
    const timer = setTimeout(() => {
      pendingSince.current = undefined;
      queued.current = { text, run: ++started.current };
      void drain();
    }, wait);
    return () => clearTimeout(timer);

    async function drain() {
      if (rendering.current) return;
      rendering.current = true;
      try {
        for (let next = queued.current; next; next = queued.current) {
          queued.current = undefined;
          await render(next.text, next.run);
        }
      } finally {
        rendering.current = false;
      }
    }

    async function render(source: string, run: number) {
      const show = (next: Preview) => {
        if (!mounted.current || run < shown.current) return;
        shown.current = run;
        setPreview(next);
      };
      const { body, lineOffset } = diagramOf(source);
      let mermaid: Mermaid;
      try {
        if (!lastSvg.current) setPreview((p) => (p.state === 'empty' ? { state: 'loading' } : p));
        mermaid = await loadMermaid();
      } catch (error) {
        return show({ state: 'error', line: undefined, message: `The preview could not load mermaid: ${errorMessage(error)}`, lastSvg: lastSvg.current });
      }
      const id = `mermaid-preview-${run}-${++renderCount}`;
      try {
        await mermaid.parse(body);
        const { svg } = await mermaid.render(id, body);
        if (mounted.current && run >= shown.current) lastSvg.current = svg;
        show({ state: 'ok', svg });
      } catch (error) {
        const line = errorLine(error);
        show({ state: 'error', line: line === undefined ? undefined : line + lineOffset, message: errorMessage(error), lastSvg: lastSvg.current });
      } finally {
        // A failed render leaves its scratch element in <body>.
        document.getElementById(`d${id}`)?.remove();
        document.getElementById(id)?.remove();
      }
    }
  }, [text, delayMs, theme]);

  return (
    <div className="mermaid-preview" aria-label="Diagram preview" role="region">
      {preview.state === 'empty' && <p className="muted">The diagram appears here as the text arrives or as you edit it.</p>}
      {preview.state === 'loading' && <p className="muted">Loading the preview…</p>}
      {preview.state === 'error' && (
        <div className="preview-error" role="status" data-testid="preview-error">
          <strong>{preview.line === undefined ? 'Does not parse' : `Line ${preview.line}: does not parse`}</strong>
          <pre>{preview.message}</pre>
        </div>
      )}
      {(preview.state === 'ok' || (preview.state === 'error' && preview.lastSvg)) && (
        <div
          className={preview.state === 'ok' ? 'preview-svg' : 'preview-svg stale'}
          data-testid="preview-svg"
          title={preview.state === 'ok' ? undefined : 'The last diagram that parsed'}
          // Mermaid's own output under securityLevel 'strict' (sanitised by its DOMPurify).
          dangerouslySetInnerHTML={{ __html: preview.state === 'ok' ? preview.svg : preview.lastSvg! }}
        />
      )}
    </div>
  );
}
