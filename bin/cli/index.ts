import { AppError } from '../../shared/errors';
import { defaultDataDir } from '../../electron/core/paths';
import { helpText, parseCommandArgs, UsageError } from './command';
import type { Command } from './command';
import { artifact } from './artifact';
import { datasetCommand, datasetsCommand, importCommand } from './datasets';
import { exportCommand } from './export';
import { feedback } from './feedback';
import { finetuneCommand } from './finetune';
import { generateCommand } from './generate';
import { hardware } from './hardware';
import { learning } from './learning';
import { modelsCommand } from './models';
import { cancelCommand, jobsCommand, pauseCommand, resumeCommand, trainCommand, workerCommand } from './training';
import { perplexity } from './perplexity';
import { presetsCommand } from './presets';
import { serve } from './serve';
import { stats } from './stats';
import { validate } from './validate';

const COMMANDS: Command[] = [
  serve,
  hardware,
  generateCommand,
  modelsCommand,
  artifact,
  feedback,
  validate,
  stats,
  learning,
  importCommand,
  datasetsCommand,
  datasetCommand,
  exportCommand,
  perplexity,
  trainCommand,
  presetsCommand,
  jobsCommand,
  pauseCommand,
  resumeCommand,
  cancelCommand,
  workerCommand,
  finetuneCommand,
] as unknown as Command[];

function usage(): string {
  const rows = COMMANDS.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`);
  return `Usage: architect <command> [options]\n\nCommands:\n${rows.join('\n')}\n\nEvery command takes --data-dir DIR and --help.\n`;
}

/** Runs one CLI invocation; returns the exit code (0 ok, 1 failed, 2 bad usage). */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`architect: unknown command '${name}'.\n\n${usage()}`);
    return 2;
  }
  try {
    const { values, positionals } = parseCommandArgs(command, rest);
    if (values.help) {
      process.stdout.write(helpText(command));
      return 0;
    }
    const dataDir = typeof values['data-dir'] === 'string' ? values['data-dir'] : defaultDataDir();
    return await command.run({ ...values, 'data-dir': dataDir } as Parameters<Command['run']>[0], positionals);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`architect ${name}: ${error.message}\nSee 'architect ${name} --help'.\n`);
      return 2;
    }
    const message = error instanceof AppError || error instanceof Error ? error.message : String(error);
    process.stderr.write(`architect ${name}: ${message}\n`);
    return 1;
  }
}
