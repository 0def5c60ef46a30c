import { parseArgs } from 'node:util';
import { defaultDataDir } from '../../electron/core/paths';

type OptionSpec = { type: 'string' | 'boolean'; short?: string; description: string; placeholder?: string };

/** One CLI command: its options (each documented), and what it does with them. */
export interface Command<O extends Record<string, OptionSpec> = Record<string, OptionSpec>> {
  readonly name: string;
  readonly summary: string;
  readonly options: O;
  run(values: { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string } & { 'data-dir': string }): Promise<number>;
}

export const defineCommand = <O extends Record<string, OptionSpec>>(command: Command<O>): Command<O> => command;

/** Thrown for bad command-line input; printed without a stack, exit code 2. */
export class UsageError extends Error {}

const COMMON: Record<string, OptionSpec> = {
  'data-dir': { type: 'string', placeholder: 'DIR', description: `data folder (default: ${defaultDataDir()})` },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

export function helpText(command: Command): string {
  const all = { ...command.options, ...COMMON };
  const rows = Object.entries(all).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.placeholder ? ` ${o.placeholder}` : ''}`;
    return `  ${flag.padEnd(24)} ${o.description}`;
  });
  return `Usage: architect ${command.name} [options]\n\n${command.summary}\n\nOptions:\n${rows.join('\n')}\n`;
}

/** Parses argv for one command; unknown flags and stray arguments are usage errors. */
export function parseCommandArgs(command: Command, argv: string[]) {
  const options = Object.fromEntries(
    Object.entries({ ...command.options, ...COMMON }).map(([k, o]) => [k, o.short ? { type: o.type, short: o.short } : { type: o.type }]),
  );
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    return values as Record<string, string | boolean | undefined>;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // node:util's messages name the flag; drop its hint about positionals, which we do not use.
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
}
