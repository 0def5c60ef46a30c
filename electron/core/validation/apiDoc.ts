import type { ValidationResult } from '../../../shared/contract/validation';
import { unfence } from './fence';
import type { DocumentParse } from './parserHost';
import { Scorecard, share } from './scorecard';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/**
 * Validates an API document: OpenAPI/Swagger (JSON or YAML, parsed by `parse`: the validator's worker, since YAML
 * of a few hundred KiB takes the parser a second) structurally, Markdown by stated heuristics.
 */
export async function validateApiDoc(text: string, parse: (body: string) => Promise<DocumentParse>): Promise<ValidationResult> {
  const { body } = unfence(text, ['yaml', 'yml', 'json']);
  const spec = await readOpenApi(body, parse);
  if (spec) return scoreOpenApi(spec);
  // Markdown keeps its own code blocks; only a fence around the whole document comes off.
  const md = unfence(text, ['markdown', 'md']);
  return scoreMarkdown(md.tag === 'markdown' || md.tag === 'md' ? md.body : text);
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The document as an object when it is OpenAPI or Swagger; undefined when it is something else. */
async function readOpenApi(body: string, parse: (body: string) => Promise<DocumentParse>): Promise<Json | undefined> {
  const trimmed = body.trim();
  if (!/^\{|^(openapi|swagger)\s*:/m.test(trimmed.slice(0, 2000))) return undefined;
  const parsed = await parse(trimmed);
  // Looks like OpenAPI but does not parse: score it as a broken OpenAPI document.
  if (parsed.status === 'invalid') return { __parseError: parsed.error };
  const { doc } = parsed;
  return isObject(doc) && ('openapi' in doc || 'swagger' in doc) ? doc : undefined;
}

/**
 * OpenAPI out of 100: parses and names its version (20), has paths (15), every path has an operation
 * (15), path parameters declared and some parameters or bodies documented (15), every operation has a
 * success response (20) and an error response (15).
 */
function scoreOpenApi(doc: Json): ValidationResult {
  const card = new Scorecard();
  const validator = 'openapi structure';
  if (typeof doc.__parseError === 'string') {
    card.check(false, `Not valid JSON/YAML: ${doc.__parseError.split('\n')[0]}`, 20);
    card.check(false, 'Nothing else checked: the document does not parse', 80);
    return card.result('api-doc', validator);
  }
  const version = String(doc.openapi ?? doc.swagger);
  card.check(true, `OpenAPI document, version ${version}`, 20);
  const paths = isObject(doc.paths) ? Object.entries(doc.paths).filter(([, item]) => isObject(item)) : [];
  card.check(paths.length > 0, `${paths.length} ${paths.length === 1 ? 'endpoint' : 'endpoints'} (paths)`, 15);
  const operations = paths.flatMap(([path, item]) =>
    Object.entries(item as Json)
      .filter(([method, op]) => METHODS.includes(method) && isObject(op))
      .map(([method, op]) => ({ path, method, op: op as Json, shared: (item as Json).parameters })),
  );
  const pathsWithOps = new Set(operations.map((o) => o.path)).size;
  card.check(
    paths.length > 0 && pathsWithOps === paths.length,
    `${pathsWithOps} of ${paths.length} paths have an HTTP method`,
    15,
    paths.length ? share(pathsWithOps, paths.length) : 0,
  );
  const params = (o: (typeof operations)[number]) => [...asArray(o.shared), ...asArray(o.op.parameters)].filter(isObject);
  const templated = operations.filter((o) => /\{[^}]+\}/.test(o.path));
  const declaredTemplates = templated.filter((o) =>
    [...o.path.matchAll(/\{([^}]+)\}/g)].every((m) => params(o).some((p) => p.name === m[1] || '$ref' in p)),
  ).length;
  const documented = operations.filter((o) => params(o).length > 0 || 'requestBody' in o.op).length;
  const paramsOk = operations.length > 0 && documented > 0 && declaredTemplates === templated.length;
  card.check(
    paramsOk,
    `${documented} of ${operations.length} operations document parameters or a body; ${declaredTemplates} of ${templated.length} path templates declared`,
    15,
    operations.length === 0 ? 0 : (documented > 0 ? 0.5 : 0) + 0.5 * share(declaredTemplates, templated.length),
  );
  const codes = (o: (typeof operations)[number]) => (isObject(o.op.responses) ? Object.keys(o.op.responses) : []);
  const withSuccess = operations.filter((o) => codes(o).some((c) => /^(2\d\d|2XX|default)$/i.test(c))).length;
  const withError = operations.filter((o) => codes(o).some((c) => /^([45]\d\d|[45]XX|default)$/i.test(c))).length;
  card.check(operations.length > 0 && withSuccess === operations.length, `${withSuccess} of ${operations.length} operations document a success response`, 20, operations.length ? share(withSuccess, operations.length) : 0);
  card.check(operations.length > 0 && withError === operations.length, `${withError} of ${operations.length} operations document an error response (4xx/5xx)`, 15, operations.length ? share(withError, operations.length) : 0);
  return card.result('api-doc', validator);
}

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const ENDPOINT = /^(?:#{1,6}\s*|[-*]\s*|\|\s*)?`?(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)`?\s+`?(\/[^\s`|]*)`?/i;
const ROUTE = /(^|\s|`)\/[\w{}:.-]+(\/[\w{}:.-]*)*/;

/**
 * Markdown out of 100, by heuristics (no grammar exists): endpoint paths (20), an HTTP method with each
 * (20), and per endpoint section: parameters or a body, or an explicit "none" (20), a success
 * response (20), error responses (20).
 */
function scoreMarkdown(text: string): ValidationResult {
  const card = new Scorecard();
  const lines = text.split('\n');
  const starts = lines.map((l, i) => (ENDPOINT.test(l.trim()) ? i : -1)).filter((i) => i >= 0);
  const endpoints = starts.map((start, n) => {
    const section = lines.slice(start, starts[n + 1] ?? lines.length).join('\n');
    const [, method, path] = ENDPOINT.exec(lines[start]!.trim())!;
    return { method: method!.toUpperCase(), path: path!, section };
  });
  const anyRoute = endpoints.length > 0 || lines.some((l) => ROUTE.test(l));
  card.note('Markdown API doc: checked by heuristics (endpoint lines like "GET /users", then each section)');
  card.check(anyRoute, anyRoute ? `Endpoint paths found${endpoints.length ? `: ${endpoints.slice(0, 4).map((e) => e.path).join(', ')}` : ''}` : 'No endpoint paths (like /users) found', 20);
  card.check(endpoints.length > 0, endpoints.length ? `${endpoints.length} endpoints with an HTTP method` : 'No "METHOD /path" line found', 20);
  const has = (pattern: RegExp) => endpoints.filter((e) => pattern.test(e.section)).length;
  const withParams = has(/\b(parameters?|params|query|request body|body|payload|arguments|fields)\b|\{\w+\}|\/:\w+|\bnone\b/i);
  const withSuccess = has(/\b(2\d\d)\b|\b(response|returns?)\b/i);
  const withErrors = has(/\b[45]\d\d\b|\berrors?\b/i);
  const n = endpoints.length;
  card.check(n > 0 && withParams === n, `${withParams} of ${n} endpoints document parameters or a body`, 20, n ? share(withParams, n) : 0);
  card.check(n > 0 && withSuccess === n, `${withSuccess} of ${n} endpoints document a response`, 20, n ? share(withSuccess, n) : 0);
  card.check(n > 0 && withErrors === n, `${withErrors} of ${n} endpoints document errors (4xx/5xx)`, 20, n ? share(withErrors, n) : 0);
  return card.result('api-doc', 'markdown heuristic');
}
