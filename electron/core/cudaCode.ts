// Whether node-llama-cpp's prebuilt CUDA library holds code that this machine's NVIDIA GPU and driver can run.
// A library that loads but holds none passes node-llama-cpp's load test, then aborts the whole process at its
// first kernel ("the provided PTX was compiled with an unsupported toolchain": node-llama-cpp 3.21.1 on an H200
// with driver 580). Reading the library's fatbin beforehand lets the app skip CUDA and say why instead.
import { execFile } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

/** A PTX ISA or CUDA version: [major, minor]. */
export type Version = readonly [number, number];

/** The GPU code in a CUDA library: machine code (cubins) per sm_XY, and PTX per compute_XY with its ISA version. */
export interface FatbinCode {
  readonly cubins: number[];
  readonly ptx: { readonly arch: number; readonly isa: Version }[];
}

const FATBIN_MAGIC = 0xba55ed50;
const KIND_PTX = 1;
const KIND_CUBIN = 2;

function readAt(fd: number, position: number, length: number, path: string): Buffer {
  const buffer = Buffer.alloc(length);
  if (readSync(fd, buffer, 0, length, position) !== length) throw new Error(`${path}: truncated at byte ${position}`);
  return buffer;
}

/**
 * Lists the code in an ELF shared library's .nv_fatbin section, reading only headers. Layout (as cuobjdump
 * reads it): containers of {magic u32, version u16, header size u16, payload size u64}, each holding entries
 * of {kind u16 (1 PTX, 2 cubin), u16, header size u32, payload size u64, …, minor u16 @24, major u16 @26,
 * arch u32 @28}. Throws, naming the file, when it is no 64-bit ELF or a header runs past its section.
 */
export function readFatbinCode(path: string): FatbinCode {
  const fd = openSync(path, 'r');
  try {
    const elf = readAt(fd, 0, 64, path);
    if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) throw new Error(`${path}: not a 64-bit little-endian ELF file`);
    const shoff = Number(elf.readBigUInt64LE(0x28));
    const shentsize = elf.readUInt16LE(0x3a), shnum = elf.readUInt16LE(0x3c), shstrndx = elf.readUInt16LE(0x3e);
    const sections = readAt(fd, shoff, shentsize * shnum, path);
    const section = (i: number) => ({
      name: sections.readUInt32LE(i * shentsize),
      offset: Number(sections.readBigUInt64LE(i * shentsize + 0x18)),
      size: Number(sections.readBigUInt64LE(i * shentsize + 0x20)),
    });
    const strings = section(shstrndx);
    const names = readAt(fd, strings.offset, strings.size, path);
    let fatbin: { offset: number; size: number } | undefined;
    for (let i = 0; i < shnum; i++) {
      const s = section(i);
      if (names.toString('latin1', s.name, names.indexOf(0, s.name)) === '.nv_fatbin') fatbin = s;
    }
    const code = { cubins: new Set<number>(), ptx: new Map<string, { arch: number; isa: Version }>() };
    if (!fatbin) return { cubins: [], ptx: [] };
    const end = fatbin.offset + fatbin.size;
    for (let pos = fatbin.offset; pos + 16 <= end; ) {
      const container = readAt(fd, pos, 16, path);
      if (container.readUInt32LE(0) !== FATBIN_MAGIC) {
        pos += 8; // containers are 8-byte aligned, with padding between them
        continue;
      }
      const first = pos + container.readUInt16LE(6), last = first + Number(container.readBigUInt64LE(8));
      if (last > end) throw new Error(`${path}: the fatbin container at byte ${pos} runs past its section`);
      for (let at = first; at < last; ) {
        const entry = readAt(fd, at, 32, path);
        const kind = entry.readUInt16LE(0), headerSize = entry.readUInt32LE(4), payload = Number(entry.readBigUInt64LE(8));
        const arch = entry.readUInt32LE(28);
        if (headerSize < 32 || at + headerSize + payload > last) throw new Error(`${path}: the fatbin entry at byte ${at} runs past its container`);
        if (kind === KIND_CUBIN) code.cubins.add(arch);
        if (kind === KIND_PTX) code.ptx.set(`${arch}`, { arch, isa: [entry.readUInt16LE(26), entry.readUInt16LE(24)] });
        at += headerSize + payload;
      }
      pos = last;
    }
    return { cubins: [...code.cubins].sort((a, b) => a - b), ptx: [...code.ptx.values()].sort((a, b) => a.arch - b.arch) };
  } finally {
    closeSync(fd);
  }
}

/** The newest PTX ISA a driver for this CUDA version compiles (NVIDIA's PTX ISA release notes). */
export function maxPtxIsa(cuda: Version): Version {
  const [major, minor] = cuda;
  if (major === 12 && minor >= 6) return [8, minor - 1]; // 12.6 → 8.5, 12.8 → 8.7, 12.9 → 8.8
  return [major - 4, minor]; // 11.x → 7.x, 12.0–12.5 → 8.0–8.5, 13.x → 9.x
}

const atMost = (a: Version, b: Version) => a[0] < b[0] || (a[0] === b[0] && a[1] <= b[1]);
const dotted = (v: Version | number) => (typeof v === 'number' ? `${Math.floor(v / 10)}.${v % 10}` : v.join('.'));

/**
 * Which code a GPU of compute capability `cc` (e.g. 90) runs under a driver for CUDA `driverCuda`: a cubin of the
 * same major version and no newer minor, else PTX for an older or equal arch that the driver can compile.
 */
export function runnableCode(code: FatbinCode, cc: number, driverCuda: Version): { ok: true; via: string } | { ok: false; reason: string } {
  const cubin = code.cubins.filter((a) => Math.floor(a / 10) === Math.floor(cc / 10) && a <= cc).pop();
  if (cubin !== undefined) return { ok: true, via: `sm_${cubin} machine code` };
  const older = code.ptx.filter((p) => p.arch <= cc);
  const ptx = older.filter((p) => atMost(p.isa, maxPtxIsa(driverCuda))).pop();
  if (ptx) return { ok: true, via: `compute_${ptx.arch} PTX (ISA ${dotted(ptx.isa)}, compiled by the driver)` };
  const has = `machine code for ${code.cubins.map((a) => `sm_${a}`).join(', ') || 'no GPU'}`;
  if (!older.length) return { ok: false, reason: `it holds ${has} and no PTX old enough for compute capability ${dotted(cc)}` };
  const newest = older.at(-1)!;
  return {
    ok: false,
    reason:
      `it holds ${has}, and its compute_${newest.arch} PTX is ISA ${dotted(newest.isa)}, newer than this driver (CUDA ${dotted(driverCuda)}) ` +
      `compiles (ISA ${dotted(maxPtxIsa(driverCuda))} at most): update the NVIDIA driver to one for CUDA ${newest.isa[0] + 4}.${newest.isa[1]} or newer`,
  };
}

export interface NvidiaDriver {
  /** The newest CUDA version this driver supports, from nvidia-smi's banner. */
  readonly cuda: Version;
  readonly gpus: { readonly name: string; readonly cc: number }[];
}

/** Parses `nvidia-smi` (its banner) and `nvidia-smi --query-gpu=name,compute_cap --format=csv,noheader`. */
export function parseNvidiaSmi(banner: string, query: string): NvidiaDriver | undefined {
  const cuda = /CUDA Version:\s*(\d+)\.(\d+)/.exec(banner);
  if (!cuda) return undefined;
  const gpus = query
    .split('\n')
    .map((line) => /^(.*),\s*(\d+)\.(\d+)\s*$/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[1]!.trim(), cc: Number(m[2]) * 10 + Number(m[3]) }));
  return { cuda: [Number(cuda[1]), Number(cuda[2])], gpus };
}

/**
 * The libggml-cuda files node-llama-cpp would try here, in its order (Linux): its prebuilt package's, then the
 * fallback one its -ext package holds for drivers of an older CUDA, which it loads when the first cannot load.
 */
export function prebuiltCudaLibraries(): string[] {
  if (process.platform !== 'linux') return []; // Windows ships PE DLLs: not read here
  const found: string[] = [];
  for (const pkg of [`linux-${process.arch}-cuda`, `linux-${process.arch}-cuda-ext`]) {
    try {
      const bins = join(dirname(dirname(createRequire(import.meta.url).resolve(`@node-llama-cpp/${pkg}`))), 'bins');
      for (const name of readdirSync(bins)) {
        for (const path of [join(bins, name, 'libggml-cuda.so'), join(bins, name, 'fallback', 'libggml-cuda.so')]) {
          if (existsSync(path)) found.push(path);
        }
      }
    } catch {
      // not installed for this platform
    }
  }
  return found;
}

/**
 * Why node-llama-cpp's CUDA library must not be used on this machine, or undefined when it can be or nothing is
 * known (no NVIDIA driver, no prebuilt library, an unreadable one): unknown never blocks CUDA. The library is the
 * first of `libraries` built with a CUDA this driver runs (its PTX ISA major + 4); the others would not load.
 */
export async function cudaBlocker(libraries = prebuiltCudaLibraries()): Promise<string | undefined> {
  if (!libraries.length) return undefined;
  const run = promisify(execFile);
  const smi = async (args: string[]) => (await run('nvidia-smi', args, { timeout: 10_000 })).stdout;
  const driver = await Promise.all([smi([]), smi(['--query-gpu=name,compute_cap', '--format=csv,noheader'])])
    .then(([banner, query]) => parseNvidiaSmi(banner, query))
    .catch(() => undefined);
  if (!driver?.gpus.length) return undefined;
  let code: FatbinCode | undefined;
  try {
    code = libraries.map(readFatbinCode).find((c) => Math.max(0, ...c.ptx.map((p) => p.isa[0] + 4)) <= driver.cuda[0]);
  } catch {
    return undefined;
  }
  if (!code) return undefined;
  for (const gpu of driver.gpus) {
    const verdict = runnableCode(code, gpu.cc, driver.cuda);
    if (!verdict.ok) return `CUDA is off: node-llama-cpp's CUDA library has no code the ${gpu.name} (compute capability ${dotted(gpu.cc)}) can run: ${verdict.reason}.`;
  }
  return undefined;
}
