import type { ValidationResult } from '../../../shared/contract/validation';
import { unfence } from './fence';
import type { MermaidParse } from './parserHost';
import { Scorecard, share } from './scorecard';

export type DiagramKind = 'erd' | 'flowchart' | 'sequence';

const EXPECTED: Record<DiagramKind, { header: RegExp; types: string[]; name: string; keyword: string }> = {
  erd: { header: /^erDiagram\b/, types: ['er'], name: 'an ER diagram', keyword: 'erDiagram' },
  flowchart: { header: /^(flowchart|graph)\b/, types: ['flowchart-v2', 'flowchart'], name: 'a flowchart', keyword: 'flowchart' },
  sequence: { header: /^sequenceDiagram\b/, types: ['sequence'], name: 'a sequence diagram', keyword: 'sequenceDiagram' },
};

/** The diagram text to parse: without a ```mermaid fence around it. */
export function diagramText(text: string): { body: string; hadFence: boolean; hadProse: boolean } {
  const { body, tag, hadProse } = unfence(text, ['mermaid']);
  return { body, hadFence: tag !== null, hadProse };
}

/** The first line that is not blank, a comment (%%) or front matter/directive. */
function headerLine(body: string): string {
  let inFrontMatter = false;
  for (const raw of body.split('\n')) {
    const line = raw.trim();
    if (line === '---') {
      inFrontMatter = !inFrontMatter;
      continue;
    }
    if (inFrontMatter || line === '' || line.startsWith('%%')) continue;
    return line;
  }
  return '';
}

/**
 * Scores a Mermaid diagram out of 100: the right header (10), Mermaid's own parser accepts it (40), and
 * structure (50) — ERD: entities (10), relationships (15), cardinalities on both ends (10), every
 * related entity declared (15); flowchart: nodes (20), edges (20), no isolated node (10); sequence:
 * participants (20), messages (20), every participant in a message (10).
 */
/** Points for "Mermaid's own parser accepts it": the one check of that weight, so it tells a parsing diagram apart. */
const PARSE_POINTS = 40;

/** Whether a diagram's validation says Mermaid parsed it (the gate's "valid Mermaid"). */
export function parsesAsMermaid(result: ValidationResult): boolean {
  return result.reasons.some((r) => r.of === PARSE_POINTS && r.ok);
}

export function scoreDiagram(kind: DiagramKind, text: string, parse: MermaidParse, validator: string): ValidationResult {
  const expected = EXPECTED[kind];
  const { body, hadFence, hadProse } = diagramText(text);
  const card = new Scorecard();
  if (hadFence) card.note(hadProse ? 'Took the ```mermaid block out of the surrounding text' : 'Removed the ```mermaid fence');
  const header = headerLine(body);
  const headerOk = expected.header.test(header);
  card.check(headerOk, headerOk ? `Starts with ${header.split(/\s/)[0]}` : `Does not start with ${expected.keyword} (found "${header.slice(0, 40)}")`, 10);

  if (parse.status === 'invalid') {
    card.check(false, `Mermaid cannot parse it: ${parse.error}`, PARSE_POINTS);
    card.check(false, 'Structure not checked: the diagram does not parse', 50);
    return card.result(kind, validator);
  }
  card.check(true, `Mermaid parses it (as "${parse.diagramType}")`, PARSE_POINTS);
  if (!expected.types.includes(parse.diagramType)) {
    card.check(false, `It is a "${parse.diagramType}" diagram, not ${expected.name}`, 50);
    return card.result(kind, validator);
  }
  if (kind === 'erd') scoreErd(card, body, parse.er ?? { entities: [], relationships: [] });
  if (kind === 'flowchart') scoreFlow(card, parse.flow ?? { nodes: [], edges: [] });
  if (kind === 'sequence') scoreSequence(card, parse.sequence ?? { participants: [], messages: [] });
  return card.result(kind, validator);
}

type Er = NonNullable<Extract<MermaidParse, { status: 'parsed' }>['er']>;

function scoreErd(card: Scorecard, body: string, er: Er): void {
  const { entities, relationships } = er;
  card.check(entities.length > 0, `${count(entities.length, 'entity', 'entities')}`, 10);
  card.check(relationships.length > 0, `${count(relationships.length, 'relationship')}`, 15);
  const withCards = relationships.filter((r) => r.cardFrom && r.cardTo).length;
  card.check(
    relationships.length > 0 && withCards === relationships.length,
    relationships.length ? `${withCards} of ${relationships.length} relationships have cardinalities on both ends` : 'No cardinalities (no relationships)',
    10,
    relationships.length ? share(withCards, relationships.length) : 0,
  );
  // Mermaid creates an entity for any name a relationship mentions; "declared" means the diagram
  // also defines it: an attribute block, an alias, or a line of its own.
  const declared = new Set(entities.filter((e) => e.attributes > 0 || e.alias || declaredOnOwnLine(body, e.name)).map((e) => e.name));
  const undeclared = [...new Set(relationships.flatMap((r) => [r.from, r.to]).filter((n) => !declared.has(n)))];
  const okRelationships = relationships.filter((r) => declared.has(r.from) && declared.has(r.to)).length;
  card.check(
    relationships.length > 0 && undeclared.length === 0,
    undeclared.length
      ? `Relationships name undeclared ${undeclared.length === 1 ? 'entity' : 'entities'}: ${list(undeclared)}`
      : relationships.length ? 'Every related entity is declared' : 'No relationships to check',
    15,
    relationships.length ? share(okRelationships, relationships.length) : 0,
  );
}

function declaredOnOwnLine(body: string, name: string): boolean {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^\\s*("${escaped}"|${escaped})\\s*(\\[[^\\]]*\\])?\\s*(\\{.*)?$`, 'm').test(body);
}

function scoreFlow(card: Scorecard, flow: { nodes: string[]; edges: { from: string; to: string }[] }): void {
  card.check(flow.nodes.length >= 2, count(flow.nodes.length, 'node'), 20, Math.min(1, flow.nodes.length / 2));
  card.check(flow.edges.length > 0, count(flow.edges.length, 'edge'), 20);
  const linked = new Set(flow.edges.flatMap((e) => [e.from, e.to]));
  const isolated = flow.nodes.filter((n) => !linked.has(n));
  card.check(
    flow.nodes.length > 0 && isolated.length === 0,
    isolated.length ? `Isolated ${isolated.length === 1 ? 'node' : 'nodes'}: ${list(isolated)}` : 'Every node is connected',
    10,
    flow.nodes.length ? share(flow.nodes.length - isolated.length, flow.nodes.length) : 0,
  );
}

function scoreSequence(card: Scorecard, seq: { participants: string[]; messages: { from: string; to: string }[] }): void {
  card.check(seq.participants.length >= 2, count(seq.participants.length, 'participant'), 20, Math.min(1, seq.participants.length / 2));
  card.check(seq.messages.length > 0, count(seq.messages.length, 'message'), 20);
  const talking = new Set(seq.messages.flatMap((m) => [m.from, m.to]));
  const silent = seq.participants.filter((p) => !talking.has(p));
  card.check(
    seq.participants.length > 0 && silent.length === 0,
    silent.length ? `Never in a message: ${list(silent)}` : 'Every participant sends or receives a message',
    10,
    seq.participants.length ? share(seq.participants.length - silent.length, seq.participants.length) : 0,
  );
}

const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const list = (names: string[]) => (names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', '));
