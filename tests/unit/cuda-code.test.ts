// Whether node-llama-cpp's prebuilt CUDA library holds code a GPU and driver run (electron/core/cudaCode.ts).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cudaBlocker, maxPtxIsa, parseNvidiaSmi, prebuiltCudaLibraries, readFatbinCode, runnableCode } from '../../electron/core/cudaCode';
import type { FatbinCode } from '../../electron/core/cudaCode';
import { gpuOption } from '../../electron/core/llama';
import { fakeNvidiaSmi, H200_BANNER } from '../helpers/nvidiaSmi';
import { makeTempDir } from '../helpers/tempDir';

const dir = makeTempDir('architect-cuda-');
afterAll(() => dir.remove());

const H200_QUERY = 'NVIDIA H200, 9.0\n';

/** A 64-bit ELF with a section-name table and, when given, a .nv_fatbin section holding `fatbin`. */
function elfWith(fatbin?: Buffer): Buffer {
  const names = Buffer.from('\0.shstrtab\0.nv_fatbin\0', 'latin1');
  const data = Buffer.concat([names, fatbin ?? Buffer.alloc(0)]);
  const shoff = 64 + data.length;
  const count = fatbin ? 3 : 2;
  const header = Buffer.alloc(64);
  header.writeUInt32BE(0x7f454c46, 0);
  header[4] = 2; // 64-bit
  header[5] = 1; // little-endian
  header.writeBigUInt64LE(BigInt(shoff), 0x28);
  header.writeUInt16LE(64, 0x3a);
  header.writeUInt16LE(count, 0x3c);
  header.writeUInt16LE(1, 0x3e);
  const sections = Buffer.alloc(64 * count);
  const section = (i: number, name: number, offset: number, size: number) => {
    sections.writeUInt32LE(name, i * 64);
    sections.writeBigUInt64LE(BigInt(offset), i * 64 + 0x18);
    sections.writeBigUInt64LE(BigInt(size), i * 64 + 0x20);
  };
  section(1, 1, 64, names.length);
  if (fatbin) section(2, 11, 64 + names.length, fatbin.length);
  return Buffer.concat([header, data, sections]);
}

/** A fatbin container of entries { kind (1 PTX, 2 cubin), arch, version [major, minor], payload bytes }. */
function container(entries: { kind: number; arch: number; version: [number, number]; payload: number; headerSize?: number }[]): Buffer {
  const parts = entries.map((e) => {
    const header = Buffer.alloc(64);
    header.writeUInt16LE(e.kind, 0);
    header.writeUInt32LE(e.headerSize ?? 64, 4);
    header.writeBigUInt64LE(BigInt(e.payload), 8);
    header.writeUInt16LE(e.version[1], 24);
    header.writeUInt16LE(e.version[0], 26);
    header.writeUInt32LE(e.arch, 28);
    return Buffer.concat([header, Buffer.alloc(e.payload, 0xab)]);
  });
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(16);
  head.writeUInt32LE(0xba55ed50, 0);
  head.writeUInt16LE(1, 4);
  head.writeUInt16LE(16, 6);
  head.writeBigUInt64LE(BigInt(body.length), 8);
  return Buffer.concat([head, body]);
}

function file(name: string, bytes: Buffer): string {
  const path = join(dir.path, name);
  writeFileSync(path, bytes);
  return path;
}

describe('reading a CUDA library\'s code', () => {
  it('lists the cubins and PTX (with ISA versions) of every container, skipping the padding between them', () => {
    const fatbin = Buffer.concat([
      container([{ kind: 2, arch: 86, version: [1, 8], payload: 40 }, { kind: 1, arch: 80, version: [9, 1], payload: 24 }]),
      Buffer.alloc(8),
      container([{ kind: 2, arch: 90, version: [1, 8], payload: 8 }, { kind: 1, arch: 90, version: [9, 0], payload: 16 }]),
    ]);
    expect(readFatbinCode(file('two.so', elfWith(fatbin)))).toEqual({ cubins: [86, 90], ptx: [{ arch: 80, isa: [9, 1] }, { arch: 90, isa: [9, 0] }] });
  });

  it('finds no code in a library without a .nv_fatbin section', () => {
    expect(readFatbinCode(file('none.so', elfWith()))).toEqual({ cubins: [], ptx: [] });
  });

  it('names the file and the byte where a header is wrong', () => {
    expect(() => readFatbinCode(file('text.so', Buffer.from('not an ELF file at all, just text, and long enough for a header'.repeat(2))))).toThrow(/text\.so: not a 64-bit little-endian ELF file/);
    const overlong = container([{ kind: 2, arch: 86, version: [1, 8], payload: 16, headerSize: 4096 }]);
    expect(() => readFatbinCode(file('overlong.so', elfWith(overlong)))).toThrow(/overlong\.so: the fatbin entry at byte \d+ runs past its container/);
    expect(() => readFatbinCode(file('short.so', elfWith(container([{ kind: 2, arch: 86, version: [1, 8], payload: 16 }])).subarray(0, 100)))).toThrow(/short\.so: truncated at byte/);
  });

  // The libraries node-llama-cpp 3.21.1 (pinned) installs here, read as they are.
  it('reads node-llama-cpp\'s prebuilt CUDA libraries: CUDA 13 with no sm_90 machine code and PTX ISA 9.1, then the CUDA 12 fallback', () => {
    const [primary, fallback, ...rest] = prebuiltCudaLibraries();
    expect(primary).toMatch(/linux-x64-cuda\/bins\/linux-x64-cuda\/libggml-cuda\.so$/);
    expect(fallback).toMatch(/linux-x64-cuda-ext\/bins\/linux-x64-cuda\/fallback\/libggml-cuda\.so$/);
    expect(rest).toEqual([]);
    expect(readFatbinCode(primary!)).toEqual({ cubins: [86, 89, 120, 121], ptx: [75, 80, 90].map((arch) => ({ arch, isa: [9, 1] })) });
    expect(readFatbinCode(fallback!)).toEqual({ cubins: [86], ptx: [50, 61, 70, 75, 80].map((arch) => ({ arch, isa: [8, 4] })) });
  });
});

describe('which code a GPU runs', () => {
  const prebuilt: FatbinCode = { cubins: [86, 89, 120, 121], ptx: [75, 80, 90].map((arch) => ({ arch, isa: [9, 1] as const })) };

  it('knows the newest PTX each CUDA driver compiles', () => {
    expect(maxPtxIsa([11, 8])).toEqual([7, 8]);
    expect(maxPtxIsa([12, 4])).toEqual([8, 4]);
    expect(maxPtxIsa([12, 6])).toEqual([8, 5]);
    expect(maxPtxIsa([12, 8])).toEqual([8, 7]);
    expect(maxPtxIsa([13, 0])).toEqual([9, 0]);
    expect(maxPtxIsa([13, 1])).toEqual([9, 1]);
  });

  it('takes machine code of the same major version first, else PTX the driver compiles', () => {
    expect(runnableCode(prebuilt, 86, [13, 0])).toEqual({ ok: true, via: 'sm_86 machine code' }); // RTX 3090
    expect(runnableCode(prebuilt, 87, [13, 0])).toEqual({ ok: true, via: 'sm_86 machine code' }); // Jetson Orin
    expect(runnableCode(prebuilt, 89, [13, 0])).toEqual({ ok: true, via: 'sm_89 machine code' }); // RTX 4090
    expect(runnableCode(prebuilt, 120, [13, 0])).toEqual({ ok: true, via: 'sm_120 machine code' }); // RTX 5090
    expect(runnableCode(prebuilt, 90, [13, 1])).toEqual({ ok: true, via: 'compute_90 PTX (ISA 9.1, compiled by the driver)' });
  });

  it('refuses an H100/H200 or A100 on driver 580 (CUDA 13.0), and a V100, saying why', () => {
    const h200 = runnableCode(prebuilt, 90, [13, 0]);
    expect(h200.ok).toBe(false);
    expect(!h200.ok && h200.reason).toBe(
      'it holds machine code for sm_86, sm_89, sm_120, sm_121, and its compute_90 PTX is ISA 9.1, newer than this driver (CUDA 13.0) ' +
        'compiles (ISA 9.0 at most): update the NVIDIA driver to one for CUDA 13.1 or newer',
    );
    expect(runnableCode(prebuilt, 80, [13, 0])).toMatchObject({ ok: false, reason: expect.stringContaining('compute_80 PTX is ISA 9.1') });
    expect(runnableCode(prebuilt, 70, [13, 0])).toMatchObject({ ok: false, reason: expect.stringContaining('no PTX old enough for compute capability 7.0') });
  });
});

describe('skipping CUDA', () => {
  it('parses nvidia-smi\'s banner and GPU query (recorded on an H200: no GPU here)', () => {
    expect(parseNvidiaSmi(H200_BANNER, H200_QUERY)).toEqual({ cuda: [13, 0], gpus: [{ name: 'NVIDIA H200', cc: 90 }] });
    expect(parseNvidiaSmi('NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver.', '')).toBeUndefined();
  });

  // A stand-in nvidia-smi on PATH prints the H200's output (no GPU here); the library is the real prebuilt one.
  it('blocks CUDA for an H200 on driver 580 with the prebuilt libraries (nvidia-smi double), not for an RTX 4090 or an H100 on a CUDA 12 driver', async () => {
    const bin = join(dir.path, 'bin');
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      fakeNvidiaSmi(bin, 'NVIDIA H200, 9.0');
      expect(await cudaBlocker()).toMatch(/^CUDA is off: node-llama-cpp's CUDA library has no code the NVIDIA H200 \(compute capability 9\.0\) can run: .*update the NVIDIA driver to one for CUDA 13\.1 or newer\.$/);
      fakeNvidiaSmi(bin, 'NVIDIA GeForce RTX 4090, 8.9');
      expect(await cudaBlocker()).toBeUndefined();
      // A driver for CUDA 12.4: node-llama-cpp then loads the CUDA 12 fallback, whose compute_80 PTX (ISA 8.4) it compiles.
      fakeNvidiaSmi(bin, 'NVIDIA H100, 9.0', '| Driver Version: 550.54.15  CUDA Version: 12.4 |');
      expect(await cudaBlocker()).toBeUndefined();
    } finally {
      process.env.PATH = path;
    }
    // No NVIDIA driver at all: nothing is known, so nothing is blocked.
    process.env.PATH = '/nonexistent';
    try {
      expect(await cudaBlocker()).toBeUndefined();
    } finally {
      process.env.PATH = path;
    }
  });

  it('turns a blocker into node-llama-cpp\'s gpu option: auto skips CUDA, an explicit cuda fails with the reason', async () => {
    const blocked = async () => 'CUDA is off: because.';
    const fine = async () => undefined;
    expect(await gpuOption('auto', blocked)).toEqual({ gpu: { type: 'auto', exclude: ['cuda'] }, notice: 'CUDA is off: because.' });
    await expect(gpuOption('cuda', blocked)).rejects.toThrow('CUDA is off: because. Or choose the CPU backend.');
    expect(await gpuOption('auto', fine)).toEqual({ gpu: 'auto' });
    expect(await gpuOption('cuda', fine)).toEqual({ gpu: 'cuda' });
    expect(await gpuOption('cpu', () => Promise.reject(new Error('not asked')))).toEqual({ gpu: false });
  });
});
