// The learning bench's synthetic task: seeded requirement sentences about a small domain (2–4 entities with an
// attribute or two, 1–3 relations) and the reference Mermaid `erDiagram` each asks for. Short on purpose: a tiny
// model on two CPU cores has to learn it within a few adaptive jobs. Every name in a diagram (entity, attribute,
// relation label) is a word of its requirements, lower case as written there: the answer is then the prompt's
// own tokens rearranged, which a tiny model learns far sooner than upper-case names (other tokens entirely;
// with those the same loop stalled at 0.75 valid).
import { seededRandom } from '../../../shared/training/random';


/** One entity of a domain: its diagram name, the word the sentences use, and attributes to pick from. */
interface EntitySpec {
  readonly name: string;
  readonly word: string;
  readonly plural: string;
  readonly attributes: readonly (readonly [type: string, name: string, phrase: string])[];
}

/** A relation the domain allows: Mermaid's cardinality, its label, and how a sentence says it. */
interface RelationSpec {
  readonly from: string;
  readonly to: string;
  readonly cardinality: Cardinality;
  readonly label: string;
  /** The sentence, with {from} for the first word and {to} (plural) or {to1} (singular) for the second. */
  readonly sentence: string;
}

type Cardinality = '||--o{' | '||--|{' | '}o--o{' | '||--||';

interface DomainSpec {
  readonly place: string;
  readonly entities: readonly EntitySpec[];
  readonly relations: readonly RelationSpec[];
}

const entity = (word: string, plural: string, attributes: EntitySpec['attributes']): EntitySpec => ({ name: word, word, plural, attributes });
const rel = (from: string, to: string, cardinality: Cardinality, label: string, sentence: string): RelationSpec => ({ from, to, cardinality, label, sentence });

const DOMAINS: readonly DomainSpec[] = [
  {
    place: 'A library',
    entities: [
      entity('member', 'members', [['string', 'name', 'a name'], ['string', 'email', 'an email']]),
      entity('book', 'books', [['string', 'title', 'a title'], ['string', 'isbn', 'an isbn']]),
      entity('loan', 'loans', [['date', 'due', 'a due date'], ['date', 'returned', 'the date it was returned']]),
      entity('author', 'authors', [['string', 'name', 'a name']]),
    ],
    relations: [
      rel('member', 'loan', '||--o{', 'makes', 'a {from} makes many {to}'),
      rel('book', 'loan', '||--o{', 'has', 'a {from} has many {to}'),
      rel('author', 'book', '||--|{', 'writes', 'an {from} writes one or more {to}'),
    ],
  },
  {
    place: 'An online shop',
    entities: [
      entity('customer', 'customers', [['string', 'name', 'a name'], ['string', 'email', 'an email']]),
      entity('order', 'orders', [['date', 'placed', 'the date it was placed'], ['int', 'total', 'a total']]),
      entity('product', 'products', [['string', 'name', 'a name'], ['int', 'price', 'a price']]),
      entity('invoice', 'invoices', [['int', 'amount', 'an amount']]),
    ],
    relations: [
      rel('customer', 'order', '||--o{', 'places', 'a {from} places many {to}'),
      rel('order', 'product', '}o--o{', 'contains', 'an {from} contains many {to}'),
      rel('order', 'invoice', '||--||', 'has', 'each {from} has one {to1}'),
    ],
  },
  {
    place: 'A school',
    entities: [
      entity('student', 'students', [['string', 'name', 'a name'], ['int', 'year', 'a year']]),
      entity('course', 'courses', [['string', 'title', 'a title'], ['int', 'credits', 'credits']]),
      entity('teacher', 'teachers', [['string', 'name', 'a name']]),
      entity('room', 'rooms', [['int', 'seats', 'a number of seats']]),
    ],
    relations: [
      rel('student', 'course', '}o--o{', 'takes', 'a {from} takes many {to}'),
      rel('teacher', 'course', '||--o{', 'teaches', 'a {from} teaches many {to}'),
      rel('room', 'course', '||--o{', 'hosts', 'a {from} hosts many {to}'),
    ],
  },
  {
    place: 'A clinic',
    entities: [
      entity('patient', 'patients', [['string', 'name', 'a name'], ['date', 'birthday', 'a birthday']]),
      entity('doctor', 'doctors', [['string', 'name', 'a name'], ['string', 'specialty', 'a specialty']]),
      entity('visit', 'visits', [['date', 'day', 'a day'], ['string', 'notes', 'notes']]),
      entity('invoice', 'invoices', [['int', 'amount', 'an amount']]),
    ],
    relations: [
      rel('patient', 'visit', '||--o{', 'books', 'a {from} books many {to}'),
      rel('doctor', 'visit', '||--o{', 'sees', 'a {from} sees many {to}'),
      rel('visit', 'invoice', '||--||', 'has', 'each {from} has one {to1}'),
    ],
  },
  {
    place: 'An airline',
    entities: [
      entity('passenger', 'passengers', [['string', 'name', 'a name'], ['string', 'passport', 'a passport number']]),
      entity('flight', 'flights', [['string', 'code', 'a code'], ['date', 'departure', 'a departure date']]),
      entity('ticket', 'tickets', [['int', 'price', 'a price'], ['string', 'seat', 'a seat']]),
      entity('airport', 'airports', [['string', 'city', 'a city']]),
    ],
    relations: [
      rel('passenger', 'ticket', '||--o{', 'buys', 'a {from} buys many {to}'),
      rel('flight', 'ticket', '||--|{', 'sells', 'a {from} sells one or more {to}'),
      rel('airport', 'flight', '||--o{', 'serves', 'an {from} serves many {to}'),
    ],
  },
  {
    place: 'A hotel',
    entities: [
      entity('guest', 'guests', [['string', 'name', 'a name'], ['string', 'phone', 'a phone number']]),
      entity('room', 'rooms', [['int', 'number', 'a number'], ['int', 'beds', 'a number of beds']]),
      entity('booking', 'bookings', [['date', 'arrival', 'an arrival date'], ['int', 'nights', 'a number of nights']]),
      entity('payment', 'payments', [['int', 'amount', 'an amount']]),
    ],
    relations: [
      rel('guest', 'booking', '||--o{', 'makes', 'a {from} makes many {to}'),
      rel('room', 'booking', '||--o{', 'has', 'a {from} has many {to}'),
      rel('booking', 'payment', '||--|{', 'requires', 'a {from} requires one or more {to}'),
    ],
  },
  {
    place: 'A blog',
    entities: [
      entity('author', 'authors', [['string', 'name', 'a name'], ['string', 'email', 'an email']]),
      entity('post', 'posts', [['string', 'title', 'a title'], ['date', 'published', 'the date it was published']]),
      entity('comment', 'comments', [['string', 'text', 'a text']]),
      entity('tag', 'tags', [['string', 'label', 'a label']]),
    ],
    relations: [
      rel('author', 'post', '||--o{', 'writes', 'an {from} writes many {to}'),
      rel('post', 'comment', '||--o{', 'has', 'a {from} has many {to}'),
      rel('post', 'tag', '}o--o{', 'carries', 'a {from} carries many {to}'),
    ],
  },
  {
    place: 'A gym',
    entities: [
      entity('member', 'members', [['string', 'name', 'a name'], ['date', 'joined', 'the date it joined']]),
      entity('trainer', 'trainers', [['string', 'name', 'a name']]),
      entity('session', 'sessions', [['date', 'day', 'a day'], ['int', 'minutes', 'a length in minutes']]),
      entity('plan', 'plans', [['int', 'fee', 'a monthly fee']]),
    ],
    relations: [
      rel('member', 'session', '||--o{', 'attends', 'a {from} attends many {to}'),
      rel('trainer', 'session', '||--o{', 'leads', 'a {from} leads many {to}'),
      rel('plan', 'member', '||--o{', 'covers', 'a {from} covers many {to}'),
    ],
  },
];

/** One generated task: what the user asks, and the diagram a careful user would accept. */
export interface ErdTask {
  readonly requirements: string;
  /** The reference diagram: accepted by the app's validator with full marks. */
  readonly erd: string;
  readonly entities: readonly string[];
  readonly relations: number;
}

/** Deterministic uniform numbers in [0, 1): the trainer's own seeded generator (mulberry32). */
export const uniform = seededRandom;

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
/** Fisher–Yates with `random`. */
export function shuffled<T>(random: () => number, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const listed = (words: readonly string[]) => (words.length === 1 ? words[0]! : `${words.slice(0, -1).join(', ')} and ${words.at(-1)!}`);

/** One task drawn from `random`: a domain, 1–3 of its relations (so 2–4 entities), 1–2 attributes each. */
function drawTask(random: () => number): ErdTask {
  const domain = pick(random, DOMAINS);
  // Relations in a random order; keep a connected prefix of 1–3 of them.
  const order = shuffled(random, domain.relations);
  const wanted = 1 + Math.floor(random() * 3);
  const relations: RelationSpec[] = [order[0]!];
  for (const r of order.slice(1)) {
    if (relations.length >= wanted) break;
    const touching = relations.some((k) => [k.from, k.to].includes(r.from) || [k.from, k.to].includes(r.to));
    if (touching) relations.push(r);
  }
  const names = [...new Set(relations.flatMap((r) => [r.from, r.to]))];
  const entities = names.map((n) => domain.entities.find((e) => e.name === n)!);
  // One or two attributes each, in either order.
  const attributes = new Map(entities.map((e) => [e.name, shuffled(random, e.attributes).slice(0, random() < 0.5 ? 2 : 1)]));

  const word = (name: string) => domain.entities.find((e) => e.name === name)!;
  const sentences = [
    `${domain.place} has ${listed(entities.map((e) => e.plural))}.`,
    ...relations.map((r) => `${capitalise(r.sentence.replace('{from}', word(r.from).word).replace('{to}', word(r.to).plural).replace('{to1}', word(r.to).word))}.`),
    // The attribute sentences in any order; the diagram keeps the entities in the order they are first named.
    ...shuffled(random, entities).map((e) => `Each ${e.word} records ${listed(attributes.get(e.name)!.map((a) => a[2]))}.`),
  ];
  const lines = [
    'erDiagram',
    ...relations.map((r) => `  ${r.from} ${r.cardinality} ${r.to} : ${r.label}`),
    ...entities.flatMap((e) => [`  ${e.name} {`, ...attributes.get(e.name)!.map(([type, name]) => `    ${type} ${name}`), '  }']),
  ];
  return { requirements: sentences.join(' '), erd: lines.join('\n'), entities: names, relations: relations.length };
}

/**
 * A seeded stream of distinct tasks: `next()` never repeats a requirements text, nor one in `exclude`
 * (the held-out prompts, so that nothing asked in training is ever one of them).
 */
export class TaskStream {
  private readonly random: () => number;
  private readonly seen = new Set<string>();

  constructor(seed: number, exclude: Iterable<ErdTask> = []) {
    this.random = uniform(seed);
    for (const task of exclude) this.seen.add(task.requirements);
  }

  next(): ErdTask {
    for (let tries = 0; tries < 10_000; tries++) {
      const task = drawTask(this.random);
      if (this.seen.has(task.requirements)) continue;
      this.seen.add(task.requirements);
      return task;
    }
    throw new Error('the task generator ran out of distinct requirements');
  }

  take(n: number): ErdTask[] {
    return Array.from({ length: n }, () => this.next());
  }
}

/** The held-out prompts (never trained on) and a stream of training prompts distinct from them. */
export function makeTaskSplit(seed: number, heldOut: number): { heldOut: ErdTask[]; train: TaskStream } {
  const held = new TaskStream(seed ^ 0x5eed).take(heldOut);
  return { heldOut: held, train: new TaskStream(seed, held) };
}
