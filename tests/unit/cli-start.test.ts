// How the `architect` command starts: --version, and --help answered from the command table the build writes
// (out/cli/commands.json) without loading any command's module or dependency; plus what `npm test` says when the
// end-to-end tests' Chromium is missing.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { commandTable } from '../../bin/cli/index';
import { helpText } from '../../bin/cli/command';
import type { Command } from '../../bin/cli/command';
import { REPO, runCli } from '../helpers/cli';

const TIMEOUT = 60_000;

/** Every file `node out/cli/index.js` loads before it runs anything: the entry and its static imports, recursively. */
function staticGraph(file: string, seen = new Map<string, string[]>()): Map<string, string[]> {
  if (seen.has(file)) return seen;
  const source = readFileSync(file, 'utf8');
  // Static imports only (`import … from "x"` and `import "x"`), not `import("x")`.
  const specifiers = [...source.matchAll(/^\s*import\s+(?:[^'"();]*?\s+from\s+)?["']([^"']+)["'];?/gm)].map((m) => m[1]!);
  seen.set(file, specifiers);
  for (const specifier of specifiers.filter((s) => s.startsWith('.'))) staticGraph(new URL(specifier, `file://${file}`).pathname, seen);
  return seen;
}

describe('architect --version', () => {
  it("prints package.json's version and exits 0", () => {
    const { version } = JSON.parse(readFileSync(`${REPO}package.json`, 'utf8')) as { version: string };
    expect(runCli(['--version'])).toEqual({ status: 0, stdout: `${version}\n`, stderr: '' });
  });
});

describe('architect --help', () => {
  it('loads no command module and no package: the entry imports only Node built-ins and its own chunks', () => {
    const graph = staticGraph(`${REPO}out/cli/index.js`);
    const packages = [...graph.values()].flat().filter((s) => !s.startsWith('.') && !s.startsWith('node:'));
    expect(packages).toEqual([]);
    // The command modules are chunks of their own, imported only when their command runs.
    expect(readFileSync(`${REPO}out/cli/index.js`, 'utf8')).toMatch(/import\("\.\/training-[A-Z0-9]+\.js"\)/);
  });

  it('the built table is every command as its module defines it, in order (else: npm run build)', async () => {
    const built = JSON.parse(readFileSync(`${REPO}out/cli/commands.json`, 'utf8')) as unknown;
    expect(built).toEqual(JSON.parse(JSON.stringify(await commandTable())));
  }, TIMEOUT);

  it("lists every command with its summary, and each command's --help gives its own options", async () => {
    const table = await commandTable();
    const usage = runCli(['--help']);
    expect(usage.status).toBe(0);
    for (const command of table) expect(usage.stdout).toContain(`  ${command.name.padEnd(12)} ${command.summary}\n`);
    expect(usage.stdout).toContain('architect --version prints the version');
    for (const name of ['train', 'finetune', 'models', 'feedback']) {
      const command = table.find((c) => c.name === name)!;
      expect(runCli([name, '--help'])).toEqual({ status: 0, stdout: helpText(command as Command), stderr: '' });
    }
  }, TIMEOUT);

  it('still says what is wrong before loading anything: an unknown command, an unknown flag', () => {
    const unknown = runCli(['nonsense']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/^architect: unknown command 'nonsense'\.\n\nUsage: architect <command>/);
    const flag = runCli(['stats', '--bogus']);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toBe("architect stats: Unknown option '--bogus'\nSee 'architect stats --help'.\n");
  });
});

describe('npm test without Chromium', () => {
  it('stops before any browser test with the command that installs it', () => {
    const result = spawnSync(process.execPath, [`${REPO}node_modules/@playwright/test/cli.js`, 'test', '--list'], {
      cwd: REPO,
      encoding: 'utf8',
      env: { ...process.env, CHROMIUM_PATH: '/nonexistent/chromium' },
      timeout: TIMEOUT,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('The end-to-end tests drive Chromium at /nonexistent/chromium');
    expect(result.stderr).toContain('sudo apt-get install chromium');
    expect(result.stdout).not.toMatch(/Total: \d+ tests?/);
  }, TIMEOUT);
});
