// The export child process's entry (built to out/workers/export.js), run by electron/core/versions/export.ts
// through ChildHost: a forked Node process headless, Electron's utility process in the app, so the main process
// never loads the native addon. It loads the CPU trainer, says `ready`, merges one adapter into its base as the
// request says (shared/versions/exportProtocol.ts), hashes the result, answers `done` or `error`, then exits 0.
import { rm, stat } from 'node:fs/promises';
import { AppError, toWireError } from '../../shared/errors';
import type { WireError } from '../../shared/errors';
import { ExportRequest } from '../../shared/versions/exportProtocol';
import type { ExportMessage, ExportProgress } from '../../shared/versions/exportProtocol';
import { sha256File } from '../core/models/hash';
import { Trainer } from '../../native/index';
import { childEnd, parentChannel } from './parentChannel';

type MergeRequest = Extract<ExportRequest, { type: 'merge' }>;

const parent = parentChannel<ExportMessage>('exporter');
process.setSourceMapsEnabled(true);

const { exit, fail } = childEnd(parent, (error) => ({ type: 'error' as const, error: toWireError(error) }));

// The merge runs on the CPU whatever the machine has: it is I/O and ggml's row (de)quantization, no graph, so
// the CPU addon alone, without node-llama-cpp (whose start takes seconds).
async function load(): Promise<Trainer> {
  return Trainer.cpu();
}

/** At most one progress message per 100 ms, and always the last of a phase. */
function throttled(): (progress: ExportProgress) => void {
  let last = 0;
  return (progress) => {
    const now = performance.now();
    if (progress.done < progress.total && now - last < 100) return;
    last = now;
    parent.send({ type: 'progress', progress });
  };
}

/**
 * The addon names the file it writes: that is the temporary one, so errors name the export's target instead,
 * and say which request field is to blame.
 */
function wireError(error: unknown, request: MergeRequest): WireError {
  if (error instanceof AppError) return error.toWire();
  const message = (error instanceof Error ? error.message : String(error)).split(request.tempPath).join(request.outPath);
  const field = message.startsWith(`${request.outPath}:`) ? 'outPath' : message.startsWith(`${request.adapterPath}:`) ? 'adapterPath' : message.startsWith(`${request.modelPath}:`) ? 'modelPath' : undefined;
  const code = field === 'outPath' ? 'unavailable' : field ? 'invalid_arguments' : 'internal';
  return field ? { code, message, field } : { code, message };
}

const stopping = new AbortController();

async function merge(trainer: Trainer, request: MergeRequest): Promise<ExportMessage> {
  const { signal } = stopping;
  const report = throttled();
  const merged = await trainer.mergeAdapter(request.modelPath, request.adapterPath, request.tempPath, {
    ...(request.threads ? { threads: request.threads } : {}),
    signal,
    onProgress: (p) =>
      report({
        phase: 'merging',
        done: p.bytesDone,
        total: p.bytesTotal,
        message: `tensor ${p.tensorsDone}/${p.tensorsTotal} ${p.tensor}${p.merged ? ' (merged)' : ''}`,
      }),
  });
  const bytes = (await stat(request.tempPath)).size;
  if (bytes !== merged.bytes) throw new Error(`${request.outPath}: ${merged.bytes} bytes were written but the file has ${bytes}`);
  const sha256 = await sha256File(request.tempPath, {
    signal,
    onProgress: (done) => report({ phase: 'hashing', done, total: bytes, message: `hashing ${request.outPath}` }),
  });
  return { type: 'done', path: request.tempPath, bytes, sha256 };
}

const loaded = load();
let running = false;

parent.onMessage((raw) => {
  const parsed = ExportRequest.safeParse(raw);
  if (!parsed.success) return parent.send({ type: 'log', level: 'error', text: `ignored a malformed request: ${parsed.error.issues[0]?.message ?? 'invalid'}` });
  if (running) return parent.send({ type: 'log', level: 'warn', text: 'ignored a second request: this process runs one export' });
  running = true;
  const request = parsed.data;
  // The export's own failure is an answer (`error`), not a crash: exit 0 after it.
  void loaded
    .then((trainer) => merge(trainer, request))
    .catch(async (error: unknown) => {
      await rm(request.tempPath, { force: true });
      return { type: 'error', error: wireError(error, request) } as const;
    })
    .then((answer) => parent.send(answer))
    .then(() => exit(0));
});

// The parent went away: stop the merge (which removes its file) and go.
process.on('disconnect', () => {
  stopping.abort();
  if (!running) void exit(0);
});

loaded.then(() => parent.send({ type: 'ready', pid: process.pid }), fail);
