import { formatBytes } from '../../shared/format';
import type { HardwareInfo } from '../../shared/contract/system';
import { createCore } from '../../electron/core/services';
import { defineCommand } from './command';

export const hardware = defineCommand({
  name: 'hardware',
  summary: 'Show this machine: CPU, memory, free disk at the data folder, GPUs and the compute backend.',
  options: {
    json: { type: 'boolean', description: 'print JSON for machines' },
  },
  async run(values) {
    const core = await createCore({ dataDir: values['data-dir'] });
    try {
      const info = await core.connect().api.system.hardware({});
      console.log(values.json ? JSON.stringify(info, null, 2) : describe(info));
      return 0;
    } finally {
      await core.dispose();
    }
  },
});

function describe(info: HardwareInfo): string {
  const { cpu, memory, disk, compute } = info;
  const gpus = info.gpus.length
    ? info.gpus.map((g) => `${g.vendor} ${g.model}, ${g.vramTotalBytes == null ? 'VRAM unknown' : formatBytes(g.vramTotalBytes)} VRAM${g.driver ? `, driver ${g.driver}` : ''}`)
    : ['none detected'];
  const backend = compute.backend
    ? `${compute.backend}${compute.deviceNames.length ? ` (${compute.deviceNames.join(', ')})` : ''}` +
      (compute.vram ? `, ${formatBytes(compute.vram.freeBytes)} free of ${formatBytes(compute.vram.totalBytes)}` : '')
    : `unavailable: ${compute.error ?? 'unknown reason'}`;
  return [
    `CPU      ${cpu.model} (${cpu.physicalCores} cores, ${cpu.logicalCores} threads)`,
    `Memory   ${formatBytes(memory.freeBytes)} free of ${formatBytes(memory.totalBytes)}`,
    `Disk     ${formatBytes(disk.freeBytes)} free of ${formatBytes(disk.totalBytes)} at ${disk.path}`,
    ...gpus.map((g, i) => `${i === 0 ? 'GPU      ' : '         '}${g}`),
    `Compute  ${backend}`,
    `OS       ${info.os.platform} ${info.os.release} ${info.os.arch}`,
  ].join('\n');
}
