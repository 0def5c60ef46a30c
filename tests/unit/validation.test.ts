import { afterAll, describe, expect, it } from 'vitest';
import { bracketProblem } from '../../electron/core/validation/code';
import { ValidationService } from '../../electron/core/validation';
import type { ValidationResult } from '../../shared/contract/validation';

const service = new ValidationService();
afterAll(() => service.dispose());

const failed = (r: ValidationResult) => r.reasons.filter((x) => !x.ok).map((x) => x.text);

describe('Mermaid diagrams, through mermaid\'s own parser in a worker', () => {
  const erd = `erDiagram
    CUSTOMER ||--o{ ORDER : places
    ORDER ||--|{ LINE_ITEM : contains
    CUSTOMER { string id PK
      string name }
    ORDER { int id PK }
    LINE_ITEM { int qty }`;

  it('scores a complete ERD 100', async () => {
    const result = await service.check({ kind: 'erd', text: erd });
    expect(result).toMatchObject({ kind: 'erd', score: 100, validator: expect.stringMatching(/^mermaid 11\./) });
    expect(failed(result)).toEqual([]);
    expect(result.reasons.map((r) => r.text)).toContain('3 entities');
  });

  it('takes points off for a relationship to an undeclared entity, and names it', async () => {
    const result = await service.check({ kind: 'erd', text: erd.replace('    LINE_ITEM { int qty }', '') });
    expect(result.score).toBe(92.5); // half of the relationships name LINE_ITEM: 7.5 of 15 points
    expect(failed(result)).toEqual(['Relationships name undeclared entity: LINE_ITEM']);
  });

  it('takes the diagram out of a ```mermaid fence', async () => {
    const result = await service.check({ kind: 'erd', text: `Here it is:\n\n\`\`\`mermaid\n${erd}\n\`\`\`\n` });
    expect(result.score).toBe(100);
    expect(result.reasons[0]!.text).toMatch(/surrounding text/);
  });

  it('fails a syntax error with mermaid\'s message, and scores it low', async () => {
    const result = await service.check({ kind: 'erd', text: 'erDiagram\n  CUSTOMER ||--o{ : places' });
    expect(result.score).toBe(10);
    expect(failed(result)[0]).toMatch(/^Mermaid cannot parse it: Parse error on line 2/);
  });

  it('fails a diagram of the wrong type', async () => {
    const result = await service.check({ kind: 'erd', text: 'flowchart TD\n  A --> B' });
    expect(result.score).toBe(40);
    expect(failed(result)).toEqual(['Does not start with erDiagram (found "flowchart TD")', 'It is a "flowchart-v2" diagram, not an ER diagram']);
  });

  it('checks flowcharts for nodes, edges and isolated nodes', async () => {
    const good = await service.check({ kind: 'flowchart', text: 'flowchart TD\n  A[Start] --> B{Valid?}\n  B -->|yes| C[Done]\n  B -->|no| A' });
    expect(good.score).toBe(100);
    const isolated = await service.check({ kind: 'flowchart', text: 'graph LR\n  A --> B\n  C\n  D' });
    expect(isolated.score).toBe(95);
    expect(failed(isolated)).toEqual(['Isolated nodes: C, D']);
    const bare = await service.check({ kind: 'flowchart', text: 'flowchart TD\n  A' });
    expect(bare.score).toBe(60); // header 10, parses 40, half the node points; no edges, and A is isolated
    expect(failed(bare)).toEqual(['1 node', '0 edges', 'Isolated node: A']);
  });

  it('checks sequence diagrams for participants and messages', async () => {
    const good = await service.check({ kind: 'sequence', text: 'sequenceDiagram\n  participant U as User\n  participant API\n  U->>API: POST /login\n  API-->>U: 200 token' });
    expect(good.score).toBe(100);
    const silent = await service.check({ kind: 'sequence', text: 'sequenceDiagram\n  participant A\n  participant B\n  participant C\n  A->>B: hi\n  Note over C: idle' });
    expect(failed(silent)).toEqual(['Never in a message: C']);
    const broken = await service.check({ kind: 'sequence', text: 'sequenceDiagram\n  A->>: hi' });
    expect(broken.score).toBeLessThan(60);
  });

  it('keeps working after many diagrams (no state leaks between parses)', async () => {
    const first = await service.check({ kind: 'flowchart', text: 'flowchart TD\n  A --> B' });
    const second = await service.check({ kind: 'flowchart', text: 'flowchart TD\n  X --> Y\n  Y --> Z' });
    expect(first.reasons.find((r) => r.text.endsWith('edge'))?.text).toBe('1 edge');
    expect(second.reasons.find((r) => r.text.endsWith('edges'))?.text).toBe('2 edges');
  });

  it('gives up on a parse that takes too long, restarts the worker and keeps serving', async () => {
    const impatient = new ValidationService({ timeoutMs: 50 });
    let huge = 'erDiagram\n';
    for (let i = 0; i < 4000; i++) huge += `  E${i} ||--o{ E${i + 1} : r\n`;
    await expect(impatient.check({ kind: 'erd', text: huge })).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(/did not finish within 0.05 s/) });
    await impatient.dispose();
    await expect(service.check({ kind: 'sequence', text: 'sequenceDiagram\n  A->>B: hi' })).resolves.toMatchObject({ score: 100 });
  });

  it('fails a parse whose worker reaches its heap limit with the reason, and starts a new worker for the next', async () => {
    // 8 MiB cannot even load mermaid: every start ends at the limit, so the second failure is a second worker's.
    const cramped = new ValidationService({ maxHeapMb: 8, timeoutMs: 5000 });
    try {
      for (let i = 0; i < 2; i++) {
        await expect(cramped.check({ kind: 'flowchart', text: 'flowchart TD\n  A --> B' })).rejects.toMatchObject({
          code: 'unavailable',
          message: expect.stringMatching(/^The validator stopped unexpectedly \(validator exited with code 1\): Error: Worker terminated due to reaching memory limit/),
        });
      }
    } finally {
      await cramped.dispose();
    }
    await expect(cramped.check({ kind: 'flowchart', text: 'flowchart TD\n  A --> B' })).rejects.toMatchObject({ code: 'unavailable', message: 'The validator was shut down.' });
  });
});

describe('API docs', () => {
  const openapi = `openapi: 3.0.3
info: { title: Users, version: '1' }
paths:
  /users/{id}:
    get:
      parameters:
        - { name: id, in: path, required: true, schema: { type: string } }
      responses:
        '200': { description: the user }
        '404': { description: no such user }
  /users:
    post:
      requestBody: { content: { application/json: { schema: { type: object } } } }
      responses:
        '201': { description: created }
        '400': { description: invalid }`;

  it('scores a complete OpenAPI document 100, in YAML or JSON', async () => {
    expect(await service.check({ kind: 'api-doc', text: openapi })).toMatchObject({ score: 100, validator: 'openapi structure' });
    const json = JSON.stringify({ openapi: '3.1.0', paths: { '/ping': { get: { parameters: [{ name: 'q', in: 'query' }], responses: { 200: {}, 500: {} } } } } });
    expect((await service.check({ kind: 'api-doc', text: json })).score).toBe(100);
  });

  it('names what an OpenAPI document lacks', async () => {
    const result = await service.check({ kind: 'api-doc', text: openapi.replace("        '404': { description: no such user }\n", '').replace('      parameters:\n        - { name: id, in: path, required: true, schema: { type: string } }\n', '') });
    expect(failed(result)).toEqual([
      '1 of 2 operations document parameters or a body; 0 of 1 path templates declared',
      '1 of 2 operations document an error response (4xx/5xx)',
    ]);
    const broken = await service.check({ kind: 'api-doc', text: 'openapi: 3.0.0\npaths: [unclosed' });
    expect(broken.score).toBe(0);
  });

  it('checks Markdown docs by stated heuristics', async () => {
    const md = `# Users API\n\n## GET /users/{id}\nParameters: \`id\` (path).\n\nResponse: 200 with the user.\nErrors: 404 when missing.\n\n## DELETE /users/{id}\nParameters: \`id\`.\nReturns 204.\nErrors: 403, 404.\n`;
    const result = await service.check({ kind: 'api-doc', text: md });
    expect(result).toMatchObject({ score: 100, validator: 'markdown heuristic' });
    expect(result.reasons[0]!.text).toMatch(/heuristics/);
    const thin = await service.check({ kind: 'api-doc', text: '# API\n\n## POST /login\nLogs in.' });
    expect(thin.score).toBe(40);
    expect((await service.check({ kind: 'api-doc', text: 'Just some prose about nothing.' })).score).toBe(0);
  });
});

describe('code', () => {
  it('parses TypeScript and JavaScript with the TypeScript compiler', async () => {
    const ts = await service.check({ kind: 'code', text: 'export interface User { id: string }\nexport function name(u: User): string { return u.id; }', language: 'typescript' });
    expect(ts).toMatchObject({ score: 100, validator: expect.stringMatching(/^typescript 5\./) });
    const tsx = await service.check({ kind: 'code', text: '```tsx\nexport const App = () => <div className="x">{1}</div>;\n```' });
    expect(tsx.score).toBe(100);
    const broken = await service.check({ kind: 'code', text: 'function f( {\n  return 1\n', language: 'js' });
    expect(broken.score).toBeLessThan(60);
    expect(failed(broken)[0]).toMatch(/syntax error\(s\); line \d+:/);
  });

  it('guesses the language when none is declared, and says so', async () => {
    const result = await service.check({ kind: 'code', text: 'const x = 1;\nexport default x;' });
    expect(result.reasons[0]).toMatchObject({ text: 'No language declared; checked as typescript', of: 0 });
    const python = await service.check({ kind: 'code', text: 'def add(a, b):\n    return a + b\n' });
    expect(python.reasons[0]!.text).toBe('No language declared; checked as python');
    expect(python.score).toBe(100);
  });

  it('checks JSON with JSON.parse and other languages by a stated bracket heuristic', async () => {
    expect((await service.check({ kind: 'code', text: '{"a": [1, 2]}', language: 'json' })).score).toBe(100);
    expect((await service.check({ kind: 'code', text: '{"a": [1, 2}', language: 'json' })).score).toBeLessThan(60);
    const go = await service.check({ kind: 'code', text: 'package main\n\nfunc main() {\n\tfmt.Println("hi")\n', language: 'go' });
    expect(failed(go)).toEqual(['Heuristic (no go parser here): "{" opened on line 3 never closes']);
    const todo = await service.check({ kind: 'code', text: 'def f():\n    # TODO: implement\n    pass', language: 'python' });
    expect(failed(todo)).toEqual(['Placeholder left in: "TODO"']);
  });

  it('balances brackets outside strings and comments only', () => {
    expect(bracketProblem('f("(", \'[\') // )', 'c')).toBeNull();
    expect(bracketProblem('x = "{" # }\ny = (1]', 'hash')).toBe('"(" from line 2 is closed by "]" on line 2');
    expect(bracketProblem("fn f<'a>(x: &'a str) -> char { '}' }", 'c', true)).toBeNull();
    expect(bracketProblem("c = '\\n'; f(c", 'c', true)).toBe('"(" opened on line 1 never closes');
    expect(bracketProblem('s = """ (\n"""', 'hash')).toBeNull();
    expect(bracketProblem('/* ( ', 'c')).toMatch(/never closes/);
  });
});

it('has no validator for kind "other"', async () => {
  await expect(service.check({ kind: 'other', text: 'anything' })).rejects.toMatchObject({ code: 'invalid_arguments', field: 'kind' });
});
