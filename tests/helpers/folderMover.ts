// A child process that moves a data folder (executeMove) and kills itself with SIGKILL at a chosen point, for the
// crash tests of tests/unit/data-folder-move.test.ts. Run as: node folderMover.mjs FROM TO ROOT same|other POINT,
// POINT being a MoveStep ('stage', 'verify', 'place', 'locate', 'clean', 'finish') or 'file:N' (after the Nth file
// copied or entry renamed), or 'none' to finish.
import { executeMove } from '../../electron/core/app/move/execute';
import type { MoveStep } from '../../electron/core/app/move/execute';

const [from, to, root, disk, point] = process.argv.slice(2) as [string, string, string, 'same' | 'other', string];
const die = () => process.kill(process.pid, 'SIGKILL');
let files = 0;
const fileLimit = point.startsWith('file:') ? Number(point.slice(5)) : Infinity;

await executeMove(
  { from, to, root },
  {
    // "another disk" on one file system: the copy path, as a stand-in for a second disk.
    seams: { sameDevice: async () => disk === 'same' },
    hooks: {
      beforeStep: (step: MoveStep) => {
        if (step === point) die();
      },
      afterFile: () => {
        if (++files >= fileLimit) die();
      },
    },
  },
);
process.stdout.write('moved\n');
