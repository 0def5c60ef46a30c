#!/usr/bin/env node
// The `architect` command: runs the built CLI (npm install and npm run build produce out/cli).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../out/cli/index.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('architect: the app is not built yet. Run `npm run build` in the project folder, then try again.');
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
