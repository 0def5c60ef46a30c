import { statfs } from 'node:fs/promises';
import os from 'node:os';
import si from 'systeminformation';
import type { ComputeInfo, GpuInfo, HardwareInfo } from '../../shared/contract/system';
import type { LlamaRuntime } from './llama';

const MIB = 1024 * 1024;

/** Reads this machine's CPU, memory, disk at `dataDir`, GPUs and the compute backend. */
export async function probeHardware(dataDir: string, llama: LlamaRuntime): Promise<HardwareInfo> {
  const [cpu, mem, disk, gpus, compute] = await Promise.all([
    si.cpu(),
    si.mem(),
    statfs(dataDir),
    probeGpus(),
    probeCompute(llama),
  ]);
  const logical = os.availableParallelism();
  return {
    cpu: {
      model: [cpu.manufacturer, cpu.brand].filter(Boolean).join(' ') || os.cpus()[0]?.model || 'unknown',
      physicalCores: Math.max(1, cpu.physicalCores || logical),
      logicalCores: Math.max(1, cpu.cores || logical),
    },
    // "available" counts reclaimable cache, which is what a model load can actually use.
    memory: { totalBytes: mem.total, freeBytes: mem.available },
    disk: { path: dataDir, totalBytes: disk.blocks * disk.bsize, freeBytes: disk.bavail * disk.bsize },
    gpus,
    compute,
    os: { platform: process.platform, release: os.release(), arch: process.arch },
    probedAt: new Date().toISOString(),
  };
}

async function probeGpus(): Promise<GpuInfo[]> {
  const graphics = await si.graphics().catch(() => ({ controllers: [] }));
  return graphics.controllers.map((c) => {
    // systeminformation reports MiB; nvidia-smi's figures (memoryTotal) beat the PCI aperture (vram).
    const totalMib = c.memoryTotal ?? c.vram;
    return {
      vendor: c.vendor || 'unknown',
      model: c.model || c.name || 'unknown',
      vramTotalBytes: totalMib != null ? totalMib * MIB : null,
      vramUsedBytes: c.memoryUsed != null ? c.memoryUsed * MIB : null,
      driver: c.driverVersion || null,
    };
  });
}

async function probeCompute(runtime: LlamaRuntime): Promise<ComputeInfo> {
  try {
    const llama = await runtime.get();
    const backend = llama.gpu === false ? 'cpu' : llama.gpu;
    const warning = runtime.notice ? { warning: runtime.notice } : {};
    if (backend === 'cpu') return { backend, deviceNames: [], vram: null, ...warning };
    const [vram, deviceNames] = await Promise.all([llama.getVramState(), llama.getGpuDeviceNames()]);
    return {
      backend,
      deviceNames,
      vram: { totalBytes: vram.total, usedBytes: vram.used, freeBytes: vram.free },
      ...warning,
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { backend: null, deviceNames: [], vram: null, error: `node-llama-cpp could not load: ${message}` };
  }
}

/**
 * The first GPU's memory in use and in total (systeminformation, which asks nvidia-smi on NVIDIA), for
 * the Training page's gauge; null where no GPU reports its memory.
 */
export async function gpuMemory(): Promise<{ usedBytes: number; totalBytes: number } | null> {
  const { controllers } = await si.graphics().catch(() => ({ controllers: [] as si.Systeminformation.GraphicsControllerData[] }));
  const gpu = controllers.find((c) => c.memoryUsed != null && (c.memoryTotal ?? c.vram) != null);
  if (!gpu) return null;
  return { usedBytes: gpu.memoryUsed! * MIB, totalBytes: (gpu.memoryTotal ?? gpu.vram)! * MIB };
}
