import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { formatSize, inspectDataFolder } from '../../electron/core/app/dataFolder';
import { locationFileOf, readLocation } from '../../electron/core/app/location';
import { executeMove } from '../../electron/core/app/move/execute';
import { planMove } from '../../electron/core/app/move/plan';
import { defineCommand, UsageError } from './command';
import { printJson } from './withCore';

export const dataFolderCommand = defineCommand({
  name: 'data-folder',
  summary: 'Show the data folder (its free space, the location file naming it), or move it with `data-folder move DIR` while the app is closed.',
  options: {
    json: { type: 'boolean', description: 'print JSON for machines' },
  },
  positionals: { usage: '[move DIR]', min: 0, max: 2 },
  async run(values, positionals) {
    const dataDir = values['data-dir'];
    const root = values['data-root'] ?? dataDir;
    if (positionals.length === 0) return show(dataDir, root, Boolean(values.json));
    if (positionals[0] !== 'move' || positionals.length !== 2) throw new UsageError("expected nothing (to show the data folder) or 'move DIR'");
    return move(dataDir, root, positionals[1]!, Boolean(values.json));
  },
});

async function show(dataDir: string, root: string, json: boolean): Promise<number> {
  const named = readLocation(root).location ? locationFileOf(root) : null;
  const folder = existsSync(dataDir) ? await inspectDataFolder(dataDir) : null;
  if (json) {
    printJson({ path: dataDir, root, locationFile: named, ...(folder ? { freeBytes: folder.freeBytes, totalBytes: folder.totalBytes, writable: folder.writable, problem: folder.problem, warning: folder.warning } : {}) });
    return 0;
  }
  console.log(`Data folder: ${dataDir}${folder ? '' : ' (not created yet: the first command that stores something creates it)'}`);
  if (folder) console.log(`Free on its disk: ${formatSize(folder.freeBytes)} of ${formatSize(folder.totalBytes)}`);
  console.log(named ? `Named by: ${named}` : `Location file: none (the data is in the folder the app starts from, ${root})`);
  if (folder?.problem) console.log(`Problem: ${folder.problem}`);
  if (folder?.warning) console.log(`Warning: ${folder.warning}`);
  return 0;
}

async function move(dataDir: string, root: string, target: string, json: boolean): Promise<number> {
  if (!existsSync(dataDir)) throw new Error(`The data folder ${dataDir} does not exist yet: there is nothing to move.`);
  const to = resolve(target); // relative to where the command runs
  const request = { from: dataDir, to, root };
  const plan = await planMove(request);
  const how = plan.sameDisk ? 'the same disk: renamed' : `another disk with ${formatSize(plan.freeBytes)} free: copied, verified, then removed here`;
  process.stderr.write(`Moving ${formatSize(plan.dataBytes)} of data from ${plan.from} to ${plan.to} (${how})…\n`);
  let shown = -1;
  const outcome = await executeMove(request, {
    onProgress: (phase, copied, total) => {
      const tenth = total > 0 ? Math.floor((copied / total) * 10) : 10;
      if (phase !== 'copying' || tenth === shown) return;
      shown = tenth;
      process.stderr.write(`  ${tenth * 10}% (${formatSize(copied)} of ${formatSize(total)})\n`);
    },
  });
  if (json) printJson({ from: plan.from, to: plan.to, mode: outcome.mode, bytes: plan.dataBytes });
  else console.log(`The data folder is now ${plan.to} (${outcome.mode === 'renamed' ? 'renamed on the same disk' : 'copied and verified; the old copy was removed'}).`);
  return 0;
}
