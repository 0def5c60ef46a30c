import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { UPLOAD_CHUNK_BYTES } from '../../../shared/contract/datasets';
import { AppError } from '../../../shared/errors';
import type { ConnectionScope } from '../../../shared/rpc/contract';

/** How many uploads may be open and for how long one may sit idle. */
export interface UploadLimits {
  /** Open uploads of one connection. Default 8. */
  readonly perConnection: number;
  /** Open uploads of the whole process (callers in this process have no connection). Default 64. */
  readonly total: number;
  /** An upload that gets no chunk for this long is discarded, in ms. Default 10 minutes. */
  readonly idleMs: number;
}

const DEFAULT_LIMITS: UploadLimits = { perConnection: 8, total: 64, idleMs: 10 * 60 * 1000 };

interface Upload {
  readonly path: string;
  readonly fileName: string;
  readonly size: number;
  readonly owner: ConnectionScope | undefined;
  received: number;
  /** A chunk write or the import is under way. */
  busy: boolean;
  /** Its connection closed while it was busy: dropped when that work ends. */
  orphaned: boolean;
  idle: NodeJS.Timeout | undefined;
  /** Removes the connection's close listener. */
  forget: () => void;
}

/**
 * Files sent to the app in chunks through the contract, each into `<dir>/<id>.part`. Chunks arrive in
 * order and never past the declared size; a file is imported once complete and then deleted. No file
 * handle stays open between chunks (each chunk opens, writes and closes), uploads are counted per
 * connection and in all, and one is discarded when its connection closes or it sits idle too long.
 */
export class Uploads {
  private readonly uploads = new Map<string, Upload>();
  private readonly limits: UploadLimits;

  constructor(
    private readonly dir: string,
    limits: Partial<UploadLimits> = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Open uploads, in all or of one connection. */
  count(owner?: ConnectionScope): number {
    if (!owner) return this.uploads.size;
    let n = 0;
    for (const upload of this.uploads.values()) if (upload.owner === owner) n++;
    return n;
  }

  async begin(fileName: string, size: number, owner?: ConnectionScope): Promise<{ uploadId: string; chunkBytes: number }> {
    if (owner?.closed) throw new AppError('disconnected', 'The client went away.');
    if (owner && this.count(owner) >= this.limits.perConnection) {
      throw new AppError(
        'unavailable',
        `This connection already has ${this.limits.perConnection} uploads open: finish, import or discard one first (an upload idle for ${minutes(this.limits.idleMs)} is discarded).`,
        { field: 'args' },
      );
    }
    if (this.uploads.size >= this.limits.total) {
      throw new AppError('unavailable', `The app already has ${this.limits.total} uploads open: try again when one is done (an upload idle for ${minutes(this.limits.idleMs)} is discarded).`, {
        field: 'args',
      });
    }
    mkdirSync(this.dir, { recursive: true });
    const uploadId = randomUUID();
    const path = join(this.dir, `${uploadId}.part`);
    await (await open(path, 'wx')).close();
    // Only the name is kept (a browser may send a Windows path).
    const upload: Upload = { path, fileName: basename(fileName.replaceAll('\\', '/')), size, owner, received: 0, busy: false, orphaned: false, idle: undefined, forget: () => {} };
    this.uploads.set(uploadId, upload);
    if (owner) upload.forget = owner.onClose(() => this.orphan(uploadId));
    this.touch(uploadId, upload);
    return { uploadId, chunkBytes: UPLOAD_CHUNK_BYTES };
  }

  /** Writes a base64 chunk at `offset`, which must be the number of bytes received so far. */
  async chunk(uploadId: string, offset: number, data: string): Promise<{ received: number }> {
    const upload = this.get(uploadId);
    if (upload.busy) throw new AppError('conflict', 'This upload is busy: send one chunk at a time.', { field: 'args.uploadId' });
    if (offset !== upload.received) {
      throw new AppError('invalid_arguments', `Chunks must arrive in order: expected offset ${upload.received}, got ${offset}.`, { field: 'args.offset' });
    }
    const bytes = Buffer.from(data, 'base64');
    if (bytes.length > UPLOAD_CHUNK_BYTES || upload.received + bytes.length > upload.size) {
      throw new AppError('invalid_arguments', `The chunk goes past the declared size of ${upload.size} bytes.`, { field: 'args.data' });
    }
    upload.busy = true;
    try {
      const handle = await open(upload.path, 'r+');
      try {
        await handle.write(bytes, 0, bytes.length, offset);
      } finally {
        await handle.close();
      }
      upload.received += bytes.length;
    } finally {
      upload.busy = false;
      if (upload.orphaned) this.drop(uploadId);
    }
    this.touch(uploadId, upload);
    return { received: upload.received };
  }

  async discard(uploadId: string): Promise<{ discarded: boolean }> {
    const upload = this.uploads.get(uploadId);
    if (!upload || upload.busy) return { discarded: false };
    this.drop(uploadId);
    return { discarded: true };
  }

  /** Runs `work` on a complete upload's file, then deletes the upload whatever happened. */
  async consume<T>(uploadId: string, work: (path: string, fileName: string) => Promise<T>): Promise<T> {
    const upload = this.get(uploadId);
    if (upload.busy) throw new AppError('conflict', 'This upload is busy.', { field: 'args.uploadId' });
    if (upload.received !== upload.size) {
      throw new AppError('invalid_arguments', `The upload is incomplete: ${upload.received} of ${upload.size} bytes arrived.`, { field: 'args.uploadId' });
    }
    upload.busy = true;
    // An import may take long: it is not idle, and its end removes the file.
    clearTimeout(upload.idle);
    try {
      return await work(upload.path, upload.fileName);
    } finally {
      this.drop(uploadId);
    }
  }

  /** Deletes every upload of this process. */
  async dispose(): Promise<void> {
    for (const id of [...this.uploads.keys()]) this.drop(id);
  }

  private get(uploadId: string): Upload {
    const upload = this.uploads.get(uploadId);
    if (!upload) throw new AppError('not_found', 'There is no such upload (it was imported, discarded, left idle too long, or the app restarted).', { field: 'args.uploadId' });
    return upload;
  }

  /** Its connection closed: dropped now, or when the chunk or import under way ends (its file is in use until then). */
  private orphan(uploadId: string): void {
    const upload = this.uploads.get(uploadId);
    if (!upload) return;
    if (upload.busy) upload.orphaned = true;
    else this.drop(uploadId);
  }

  /** Restarts an upload's idle timer. */
  private touch(uploadId: string, upload: Upload): void {
    clearTimeout(upload.idle);
    if (this.uploads.get(uploadId) !== upload) return;
    upload.idle = setTimeout(() => void this.discard(uploadId), this.limits.idleMs);
    // An idle upload never keeps the process alive.
    upload.idle.unref();
  }

  private drop(uploadId: string): void {
    const upload = this.uploads.get(uploadId);
    if (!upload) return;
    this.uploads.delete(uploadId);
    clearTimeout(upload.idle);
    upload.forget();
    rmSync(upload.path, { force: true });
  }
}

function minutes(ms: number): string {
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}
