// Mounts for tests of full and read-only disks: a real tmpfs or a read-only bind mount, where this process may mount.
import { spawnSync } from 'node:child_process';
import { makeTempDir } from './tempDir';

/** `mount ARGS…`; the caller checks `status`. */
export const mount = (...args: string[]) => spawnSync('mount', args, { encoding: 'utf8' });
export const umount = (path: string) => spawnSync('umount', [path], { encoding: 'utf8' });

/** Whether this process may mount (root with CAP_SYS_ADMIN, on Linux): tried once on a scratch folder. */
export const canMount = (() => {
  if (process.getuid?.() !== 0 || process.platform !== 'linux') return false;
  const probe = makeTempDir('architect-mount-probe-');
  try {
    const ok = mount('-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe.path).status === 0;
    if (ok) umount(probe.path);
    return ok;
  } finally {
    probe.remove();
  }
})();
