import { build } from 'esbuild';
import { basename } from 'node:path';
import { REPO } from './cli';

/**
 * Bundles a TypeScript entry (a helper program for child processes) into out/test-scripts/, next to
 * node_modules so its dependencies resolve, and returns the file to run with node.
 */
export async function buildScript(entry: string): Promise<string> {
  const outfile = `${REPO}out/test-scripts/${basename(entry).replace(/\.ts$/, '.mjs')}`;
  await build({ entryPoints: [`${REPO}${entry}`], outfile, bundle: true, platform: 'node', target: 'node20', format: 'esm', packages: 'external', logLevel: 'warning' });
  return outfile;
}
