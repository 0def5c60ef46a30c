// The parsers' side of the worker. `serveParsers` is sent to the worker as source text (see parserHost),
// so it must stay self-contained: no imports, no references to anything outside its own body.

/** A request to the worker. */
export type ParseRequest =
  | { readonly id: number; readonly op: 'mermaid'; readonly text: string }
  | { readonly id: number; readonly op: 'script'; readonly text: string; readonly fileName: string }
  | { readonly id: number; readonly op: 'document'; readonly text: string };

interface PortLike {
  on(event: 'message', listener: (message: ParseRequest) => void): void;
  postMessage(message: unknown): void;
}

/** Absolute file URLs of the modules the worker loads (it has no node_modules of its own to resolve from). */
export interface ParserUrls {
  readonly happyDom: string;
  readonly mermaid: string;
  readonly typescript: string;
  readonly yaml: string;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- mermaid's diagram databases and the TypeScript namespace are untyped here */
/**
 * Answers each request with `{id, status: 'parsed', ...}`, `{id, status: 'invalid', error}` (the text does
 * not parse) or `{id, status: 'failed', error}` (a parser could not run). Mermaid needs a DOM for the
 * DOMPurify it sanitises labels with; a happy-dom window is installed as this worker's global `window`,
 * which nothing else shares.
 */
export function serveParsers(port: PortLike, load: (url: string) => Promise<any>, urls: ParserUrls): void {
  let mermaidReady: Promise<any> | undefined;
  let typescriptReady: Promise<any> | undefined;
  let yamlReady: Promise<any> | undefined;

  const loadMermaid = async () => {
    const { Window } = await load(urls.happyDom);
    const window = new Window({
      settings: { disableJavaScriptEvaluation: true, disableJavaScriptFileLoading: true, disableCSSFileLoading: true },
    });
    Object.assign(globalThis, { window, document: window.document });
    const mermaid = (await load(urls.mermaid)).default;
    mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });
    await mermaid.parse('info'); // registers the diagram types
    return mermaid;
  };

  const names = (map: Map<string, unknown>) => [...map.keys()];

  const parseMermaid = async (text: string) => {
    const mermaid = await (mermaidReady ??= loadMermaid());
    let diagram: any;
    try {
      diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
    } catch (error: any) {
      if (error instanceof TypeError || error instanceof ReferenceError) throw error;
      return { status: 'invalid', error: String(error?.message ?? error).slice(0, 600) };
    }
    const db = diagram.db;
    const type: string = diagram.type;
    if (type === 'er') {
      const entities = [...db.getEntities().entries()].map(([name, e]: [string, any]) => ({
        id: String(e.id),
        name,
        attributes: e.attributes?.length ?? 0,
        alias: e.alias ?? '',
      }));
      const byId = new Map(entities.map((e) => [e.id, e.name]));
      const relationships = db.getRelationships().map((r: any) => ({
        from: byId.get(r.entityA) ?? String(r.entityA),
        to: byId.get(r.entityB) ?? String(r.entityB),
        cardFrom: String(r.relSpec?.cardB ?? ''),
        cardTo: String(r.relSpec?.cardA ?? ''),
        label: String(r.roleA ?? ''),
      }));
      return { status: 'parsed', diagramType: type, er: { entities: entities.map(({ id: _id, ...e }) => e), relationships } };
    }
    if (type === 'flowchart-v2' || type === 'flowchart') {
      const edges = db.getEdges().map((e: any) => ({ from: String(e.start), to: String(e.end) }));
      return { status: 'parsed', diagramType: type, flow: { nodes: names(db.getVertices()), edges } };
    }
    if (type === 'sequence') {
      const NOTE = 2;
      const messages = db
        .getMessages()
        .filter((m: any) => typeof m.from === 'string' && typeof m.to === 'string' && m.type !== NOTE)
        .map((m: any) => ({ from: m.from, to: m.to }));
      return { status: 'parsed', diagramType: type, sequence: { participants: names(db.getActors()), messages } };
    }
    return { status: 'parsed', diagramType: type };
  };

  const parseScript = async (text: string, fileName: string) => {
    const ts = await (typescriptReady ??= load(urls.typescript).then((m) => m.default ?? m));
    const options = { noLib: true, noResolve: true, allowJs: true, jsx: ts.JsxEmit.Preserve, target: ts.ScriptTarget.ESNext, types: [] };
    const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.ESNext, false);
    // A one-file program: the public way to get the parser's own syntax errors.
    const host = {
      getSourceFile: (name: string) => (name === fileName ? source : undefined),
      getDefaultLibFileName: () => 'lib.d.ts',
      writeFile: () => {},
      getCurrentDirectory: () => '/',
      getCanonicalFileName: (name: string) => name,
      useCaseSensitiveFileNames: () => true,
      getNewLine: () => '\n',
      fileExists: (name: string) => name === fileName,
      readFile: () => undefined,
    };
    const program = ts.createProgram([fileName], options, host);
    const diagnostics = program.getSyntacticDiagnostics(source).slice(0, 20).map((d: any) => {
      const at = d.start === undefined ? undefined : source.getLineAndCharacterOfPosition(d.start);
      return { line: at ? at.line + 1 : 0, message: ts.flattenDiagnosticMessageText(d.messageText, ' ') };
    });
    const K = ts.SyntaxKind;
    const declarationKinds = new Set([
      K.FunctionDeclaration, K.ClassDeclaration, K.InterfaceDeclaration, K.TypeAliasDeclaration, K.EnumDeclaration,
      K.VariableStatement, K.ModuleDeclaration, K.ExportAssignment, K.ExportDeclaration,
    ]);
    const declarations = source.statements.filter((s: any) => declarationKinds.has(s.kind)).length;
    return { status: 'parsed', version: ts.version, diagnostics, statements: source.statements.length, declarations };
  };

  // JSON, or YAML with aliases bounded (a "billion laughs" document would expand without end).
  const parseDocument = async (text: string) => {
    const yaml = await (yamlReady ??= load(urls.yaml));
    try {
      return { status: 'parsed', doc: text.startsWith('{') ? JSON.parse(text) : yaml.parse(text, { maxAliasCount: 100 }) };
    } catch (error: any) {
      return { status: 'invalid', error: String(error?.message ?? error).slice(0, 600) };
    }
  };

  port.on('message', (request) => {
    const run = request.op === 'mermaid' ? parseMermaid(request.text) : request.op === 'script' ? parseScript(request.text, request.fileName) : parseDocument(request.text);
    run.then(
      (result) => port.postMessage({ id: request.id, ...result }),
      (error: any) => port.postMessage({ id: request.id, status: 'failed', error: String(error?.stack ?? error) }),
    );
  });
}
/* eslint-enable @typescript-eslint/no-explicit-any */
