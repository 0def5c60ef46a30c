import { z } from 'zod';
import { defineMethod, defineService } from '../rpc/contract';

const Bytes = z.number().nonnegative();

export const GpuInfo = z.object({
  vendor: z.string(),
  model: z.string(),
  /** Null where the driver does not report it. */
  vramTotalBytes: Bytes.nullable(),
  vramUsedBytes: Bytes.nullable(),
  driver: z.string().nullable(),
});
export type GpuInfo = z.infer<typeof GpuInfo>;

export const ComputeBackend = z.enum(['cuda', 'vulkan', 'metal', 'cpu']);
export type ComputeBackend = z.infer<typeof ComputeBackend>;

export const ComputeInfo = z.object({
  /** What node-llama-cpp loaded on this machine; null when it could not load at all (see `error`). */
  backend: ComputeBackend.nullable(),
  deviceNames: z.array(z.string()),
  /** Memory of the backend's device(s); for `cpu` this is null. */
  vram: z.object({ totalBytes: Bytes, usedBytes: Bytes, freeBytes: Bytes }).nullable(),
  error: z.string().optional(),
  /** Why a backend was skipped (a CUDA library with no code this GPU's driver runs), and what to do. */
  warning: z.string().optional(),
});
export type ComputeInfo = z.infer<typeof ComputeInfo>;

export const HardwareInfo = z.object({
  cpu: z.object({
    model: z.string(),
    physicalCores: z.number().int().positive(),
    logicalCores: z.number().int().positive(),
  }),
  memory: z.object({ totalBytes: Bytes, freeBytes: Bytes }),
  disk: z.object({ path: z.string(), totalBytes: Bytes, freeBytes: Bytes }),
  gpus: z.array(GpuInfo),
  compute: ComputeInfo,
  os: z.object({ platform: z.string(), release: z.string(), arch: z.string() }),
  probedAt: z.iso.datetime(),
});
export type HardwareInfo = z.infer<typeof HardwareInfo>;

export const systemService = defineService({
  methods: {
    hardware: defineMethod({
      summary: 'Probe CPU, memory, disk at the data folder, GPUs and the compute backend.',
      args: z.object({}).strict(),
      result: HardwareInfo,
    }),
  },
  events: {},
});
