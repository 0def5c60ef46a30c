import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startServe } from '../helpers/cli';
import { makeTempDir } from '../helpers/tempDir';

const dataDir = makeTempDir();
afterAll(() => dataDir.remove());

describe('architect CLI', () => {
  it('hardware --json prints this machine as JSON', () => {
    const { status, stdout } = runCli(['hardware', '--json', '--data-dir', dataDir.path]);
    expect(status).toBe(0);
    const info = JSON.parse(stdout);
    expect(info.memory.totalBytes).toBeGreaterThan(0);
    expect(info.cpu.logicalCores).toBeGreaterThanOrEqual(1);
    expect(info.disk.path).toBe(dataDir.path);
  });

  it('hardware prints a readable summary', () => {
    const { status, stdout } = runCli(['hardware', '--data-dir', dataDir.path]);
    expect(status).toBe(0);
    expect(stdout).toMatch(/^CPU +.+\(\d+ cores, \d+ threads\)$/m);
    expect(stdout).toMatch(/^Memory +[\d.]+ \w+ free of [\d.]+ \w+$/m);
    expect(stdout).toMatch(/^Compute +(cpu|cuda|vulkan|metal)/m);
  });

  it('answers bad usage with exit code 2 and a message naming the problem', () => {
    expect(runCli(['hardware', '--bogus'])).toMatchObject({ status: 2, stderr: expect.stringContaining("Unknown option '--bogus'") });
    expect(runCli(['frobnicate'])).toMatchObject({ status: 2, stderr: expect.stringContaining("unknown command 'frobnicate'") });
    expect(runCli(['serve', '--port', 'eighty'])).toMatchObject({ status: 2, stderr: expect.stringContaining('--port must be a whole number') });
    expect(runCli(['hardware', 'extra'])).toMatchObject({ status: 2, stderr: expect.stringContaining("unexpected argument 'extra'") });
  });

  it('prints help for every command', () => {
    expect(runCli(['--help'])).toMatchObject({ status: 0, stdout: expect.stringContaining('Commands:') });
    for (const command of ['serve', 'hardware']) {
      const { status, stdout } = runCli([command, '--help']);
      expect(status).toBe(0);
      expect(stdout).toContain(`Usage: architect ${command}`);
      expect(stdout).toContain('--data-dir DIR');
    }
  });

  it('serve prints its URL with a token, and Ctrl-C stops it cleanly', async () => {
    const server = await startServe(dataDir.path);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{32,}$/);
    expect((await fetch(server.url)).status).toBe(200);
    expect(await server.stop()).toBe(0);
    expect(server.output()).toContain('Stopping');
  });
});
