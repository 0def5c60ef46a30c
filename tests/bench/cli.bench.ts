import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { REPO } from '../helpers/cli';
import { percentile } from './figures';
import type { BenchSuite } from './figures';

const RUNS = 10;
const COLD_RUNS = 3;

/** Wall time of one `architect …` run in ms (node bin/architect.js, as `npx architect` runs it). */
function timeRun(args: string[]): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, [`${REPO}bin/architect.js`, ...args], { encoding: 'utf8' });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`architect ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return ms;
}

/** Empties the page cache (Linux, as root): the next run reads every file from disk, as the first run after an install does. */
function dropCaches(): boolean {
  try {
    spawnSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

/**
 * How soon the CLI answers: `--help` and `--version` with a warm and an emptied page cache, against loading
 * every command's module (what `--help` did before it answered from out/cli/commands.json).
 */
export const cliSuite: BenchSuite = {
  name: 'cli',
  async run(record) {
    const cases = [
      { name: 'help', args: ['--help'] },
      { name: 'command_help', args: ['train', '--help'] },
      { name: 'version', args: ['--version'] },
    ];
    timeRun(['--version']);
    for (const { name, args } of cases) {
      const warm = Array.from({ length: RUNS }, () => timeRun(args));
      record({ name: `cli.${name}.warm.p50`, value: percentile(warm, 50), unit: 'ms', note: `architect ${args.join(' ')}, median of ${RUNS}` });
    }
    if (!dropCaches()) {
      console.log('  (cold figures skipped: emptying the page cache needs root on Linux)');
    } else {
      for (const { name, args } of cases.filter((c) => c.name !== 'command_help')) {
        const cold = Array.from({ length: COLD_RUNS }, () => {
          dropCaches();
          return timeRun(args);
        });
        record({ name: `cli.${name}.cold.p50`, value: percentile(cold, 50), unit: 'ms', note: `page cache emptied before each run, median of ${COLD_RUNS}` });
      }
    }
    const loadAll = (): number => {
      const started = performance.now();
      const script = `await (await import(${JSON.stringify(`${REPO}out/cli/index.js`)})).commandTable()`;
      const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`loading every command failed: ${result.stderr}`);
      return performance.now() - started;
    };
    const all = Array.from({ length: COLD_RUNS }, loadAll);
    record({ name: 'cli.load_all_commands.warm.p50', value: percentile(all, 50), unit: 'ms', note: 'every command module and its dependencies: what --help loaded before' });
    if (dropCaches()) {
      const cold = Array.from({ length: COLD_RUNS }, () => {
        dropCaches();
        return loadAll();
      });
      record({ name: 'cli.load_all_commands.cold.p50', value: percentile(cold, 50), unit: 'ms', note: 'the same after emptying the page cache' });
    }
  },
};
