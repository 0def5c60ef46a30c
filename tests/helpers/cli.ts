import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
const LAUNCHER = `${REPO}bin/architect.js`;

function assertBuilt(): void {
  if (!existsSync(`${REPO}out/cli/index.js`)) throw new Error('The CLI is not built: run `npm run build` (npm test does).');
}

/** Runs the real `architect` command to completion. */
export function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  assertBuilt();
  const result = spawnSync(process.execPath, [LAUNCHER, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export interface ServeProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything printed so far. */
  output(): string;
  /** Sends Ctrl-C and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `architect serve` on a free port and resolves once it prints its URL. */
export function startServe(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<ServeProcess> {
  assertBuilt();
  const child = spawn(process.execPath, [LAUNCHER, 'serve', '--port', '0', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let text = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`architect serve printed no URL in 30 s:\n${text}`)), 30_000);
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const url = /running at (http:\/\/\S+)/.exec(text)?.[1];
      if (!url) return;
      clearTimeout(timer);
      resolve({
        url,
        child,
        output: () => text,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGINT');
          return exited;
        },
      });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`architect serve exited with ${code}:\n${text}`));
    });
  });
}
