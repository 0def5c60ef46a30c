import { parseArgs } from 'node:util';
import { LOCATION_FILE } from '../../electron/core/app/location';
import { defaultDataDir } from '../../electron/core/paths';

type OptionSpec = { type: 'string' | 'boolean'; short?: string; description: string; placeholder?: string };

/** One CLI command: its options (each documented), and what it does with them. */
export interface Command<O extends Record<string, OptionSpec> = Record<string, OptionSpec>> {
  readonly name: string;
  readonly summary: string;
  readonly options: O;
  /** Positional arguments the command takes, e.g. `ID up|down`; none when absent. */
  readonly positionals?: { readonly usage: string; readonly min: number; readonly max: number };
  run(
    /** `data-dir`: the data folder (resolved through its location file); `data-root`: the folder it was resolved from. */
    values: { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string } & { 'data-dir': string; 'data-root'?: string },
    positionals: string[],
  ): Promise<number>;
}

export const defineCommand = <O extends Record<string, OptionSpec>>(command: Command<O>): Command<O> => command;

/** Thrown for bad command-line input; printed without a stack, exit code 2. */
export class UsageError extends Error {}

const COMMON: Record<string, OptionSpec> = {
  'data-dir': { type: 'string', placeholder: 'DIR', description: `data folder (default: ${defaultDataDir()}; its ${LOCATION_FILE} says where the data moved)` },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

export function helpText(command: Command): string {
  const all = { ...command.options, ...COMMON };
  const rows = Object.entries(all).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.placeholder ? ` ${o.placeholder}` : ''}`;
    return `  ${flag.padEnd(24)} ${o.description}`;
  });
  const args = command.positionals ? ` ${command.positionals.usage}` : '';
  return `Usage: architect ${command.name}${args} [options]\n\n${command.summary}\n\nOptions:\n${rows.join('\n')}\n`;
}

/** A negative number given as a value, e.g. `--threads -2` or `feedback -5 up`: not a flag. */
const NEGATIVE = /^-[0-9.]/;

/**
 * Negative numbers as node:util's parseArgs can read them: `--flag -5` becomes `--flag=-5` (it calls the
 * bare form "ambiguous"), and a positional `-5` is set aside under a placeholder and put back after
 * parsing, so the command's own check says the number is out of range.
 */
function protectNegatives(argv: string[], stringFlags: Set<string>): { args: string[]; restore: (positional: string) => string } {
  const args: string[] = [];
  const held: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    const next = argv[i + 1];
    if (token === '--') {
      args.push(...argv.slice(i));
      break;
    }
    if (next !== undefined && NEGATIVE.test(next) && /^--[^=]+$/.test(token) && stringFlags.has(token.slice(2))) {
      args.push(`${token}=${next}`);
      i++;
    } else if (NEGATIVE.test(token)) {
      args.push(`\u0000${held.push(token) - 1}`);
    } else {
      args.push(token);
    }
  }
  return { args, restore: (p) => (p.startsWith('\u0000') ? (held[Number(p.slice(1))] ?? p) : p) };
}

/** Parses argv for one command; unknown flags and stray arguments are usage errors. */
export function parseCommandArgs(command: Command, argv: string[]): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  const all = { ...command.options, ...COMMON };
  const options = Object.fromEntries(Object.entries(all).map(([k, o]) => [k, o.short ? { type: o.type, short: o.short } : { type: o.type }]));
  const stringFlags = new Set(Object.entries(all).filter(([, o]) => o.type === 'string').map(([k]) => k));
  const { args, restore } = protectNegatives(argv, stringFlags);
  try {
    const parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
    const positionals = parsed.positionals.map(restore);
    const values = parsed.values as Record<string, string | boolean | undefined>;
    const { min = 0, max = 0, usage = '' } = command.positionals ?? {};
    if (positionals.length > max) throw new UsageError(`unexpected argument '${positionals[max]}'`);
    if (positionals.length < min && !values.help) throw new UsageError(`expected ${usage}`);
    return { values, positionals };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // node:util's messages name the flag; drop its hint about positionals, which we do not use.
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
}
