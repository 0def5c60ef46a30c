// The `architect` command line: the command table and the dispatch. Each command's module (and what it
// loads: node-llama-cpp, better-sqlite3, mermaid…) is imported only when that command runs; `--help`,
// `<command> --help` and `--version` answer from out/cli/commands.json, the table the build writes from
// the commands themselves (writeCommandTable), so they load none of it.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { resolveDataDir } from '../../electron/core/app/location';
import { defaultDataDir } from '../../electron/core/paths';
import { helpText, parseCommandArgs, UsageError } from './command';
import type { Command } from './command';

type Load = () => Promise<unknown>;

/** Every command in the order `architect --help` lists them: its name and where its module is. */
const COMMANDS: readonly (readonly [name: string, load: Load])[] = [
  ['serve', async () => (await import('./serve')).serve],
  ['hardware', async () => (await import('./hardware')).hardware],
  ['generate', async () => (await import('./generate')).generateCommand],
  ['models', async () => (await import('./models')).modelsCommand],
  ['artifact', async () => (await import('./artifact')).artifact],
  ['feedback', async () => (await import('./feedback')).feedback],
  ['validate', async () => (await import('./validate')).validate],
  ['stats', async () => (await import('./stats')).stats],
  ['learning', async () => (await import('./learning')).learning],
  ['import', async () => (await import('./datasets')).importCommand],
  ['datasets', async () => (await import('./datasets')).datasetsCommand],
  ['dataset', async () => (await import('./datasets')).datasetCommand],
  ['export', async () => (await import('./export')).exportCommand],
  ['perplexity', async () => (await import('./perplexity')).perplexity],
  ['train', async () => (await import('./training')).trainCommand],
  ['presets', async () => (await import('./presets')).presetsCommand],
  ['jobs', async () => (await import('./training')).jobsCommand],
  ['pause', async () => (await import('./training')).pauseCommand],
  ['resume', async () => (await import('./training')).resumeCommand],
  ['cancel', async () => (await import('./training')).cancelCommand],
  ['worker', async () => (await import('./training')).workerCommand],
  ['versions', async () => (await import('./versions')).versionsCommand],
  ['activate', async () => (await import('./versions')).activateCommand],
  ['rollback', async () => (await import('./versions')).rollbackCommand],
  ['publish', async () => (await import('./versions')).publishCommand],
  ['finetune', async () => (await import('./finetune')).finetuneCommand],
  ['data-folder', async () => (await import('./dataFolder')).dataFolderCommand],
];

/** What `--help` shows of a command: everything but its `run`. */
export type CommandSpec = Pick<Command, 'name' | 'summary' | 'options' | 'positionals'>;

/** The table the build writes next to the bundle: out/cli/commands.json. */
const TABLE_FILE = new URL('./commands.json', import.meta.url);

async function load(name: string): Promise<Command> {
  const entry = COMMANDS.find(([n]) => n === name);
  if (!entry) throw new Error(`no command '${name}'`);
  const command = (await entry[1]()) as Command;
  if (command.name !== name) throw new Error(`the command table says '${name}' but its module defines '${command.name}'`);
  return command;
}

/** Every command's spec, read from the commands' own modules (this loads all of them). */
export async function commandTable(): Promise<CommandSpec[]> {
  const commands = await Promise.all(COMMANDS.map(([name]) => load(name)));
  return commands.map(({ name, summary, options, positionals }) => ({ name, summary, options, ...(positionals ? { positionals } : {}) }));
}

/** Writes commandTable() to out/cli/commands.json (bin/build.mjs, after bundling), atomically. */
export async function writeCommandTable(): Promise<void> {
  const temporary = new URL(`./commands.json.${process.pid}.tmp`, import.meta.url);
  writeFileSync(temporary, `${JSON.stringify(await commandTable(), null, 1)}\n`);
  renameSync(temporary, TABLE_FILE);
}

/** The built table when it lists exactly these commands, else none (run from source, or a partial build). */
function builtTable(): CommandSpec[] | undefined {
  try {
    const table = JSON.parse(readFileSync(TABLE_FILE, 'utf8')) as CommandSpec[];
    const same = table.length === COMMANDS.length && table.every((spec, i) => spec.name === COMMANDS[i]![0]);
    return same ? table : undefined;
  } catch {
    return undefined;
  }
}

/** The commands, each loading its module only when it runs. */
async function commands(): Promise<Command[]> {
  const specs = builtTable() ?? (await commandTable());
  return specs.map((spec) => ({ ...spec, run: async (values, positionals) => (await load(spec.name)).run(values, positionals) }));
}

/** package.json's version, next to the bundle (out/cli/) or the source (bin/cli/) alike. */
function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

function usage(all: readonly Command[]): string {
  const rows = all.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`);
  return `Usage: architect <command> [options]\n\nCommands:\n${rows.join('\n')}\n\nEvery command takes --data-dir DIR and --help. architect --version prints the version.\n`;
}

/** Runs one CLI invocation; returns the exit code (0 ok, 1 failed, 2 bad usage). */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const all = await commands();
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage(all));
    return name === undefined ? 2 : 0;
  }
  const command = all.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`architect: unknown command '${name}'.\n\n${usage(all)}`);
    return 2;
  }
  try {
    const { values, positionals } = parseCommandArgs(command, rest);
    if (values.help) {
      process.stdout.write(helpText(command));
      return 0;
    }
    // The folder to start from (--data-dir wins over the default); its location file says where the data is.
    const root = resolve(typeof values['data-dir'] === 'string' ? values['data-dir'] : defaultDataDir());
    const dataDir = await resolveDataDir(root);
    return await command.run({ ...values, 'data-dir': dataDir, 'data-root': root } as Parameters<Command['run']>[0], positionals);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`architect ${name}: ${error.message}\nSee 'architect ${name} --help'.\n`);
      return 2;
    }
    // AppError is an Error too: its message is the one to print.
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`architect ${name}: ${message}\n`);
    return 1;
  }
}
