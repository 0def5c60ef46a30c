// A stand-in `nvidia-smi` for machines without an NVIDIA GPU (this one, CI): prints what a real one printed.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** nvidia-smi's banner as an H200 machine with driver 580 printed it. */
export const H200_BANNER = `+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 580.159.04             Driver Version: 580.159.04     CUDA Version: 13.0     |
+-----------------------------------------+------------------------+----------------------+`;

/**
 * Writes `dir`/nvidia-smi: with arguments it prints `query` (the answer to --query-gpu=name,compute_cap), without
 * them `banner`. Returns `dir`, to put first on PATH.
 */
export function fakeNvidiaSmi(dir: string, query: string, banner = H200_BANNER): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'nvidia-smi');
  writeFileSync(path, `#!/bin/sh\nif [ -n "$1" ]; then cat <<'EOF'\n${query}\nEOF\nelse cat <<'EOF'\n${banner}\nEOF\nfi\n`);
  chmodSync(path, 0o755);
  return dir;
}
