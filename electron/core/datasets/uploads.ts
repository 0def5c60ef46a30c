import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { UPLOAD_CHUNK_BYTES } from '../../../shared/contract/datasets';
import { AppError } from '../../../shared/errors';

interface Upload {
  readonly path: string;
  readonly fileName: string;
  readonly size: number;
  received: number;
  handle: FileHandle | undefined;
  /** A chunk write or the import is under way. */
  busy: boolean;
}

/**
 * Files sent to the app in chunks through the contract, each into `<dir>/<id>.part`. Chunks arrive in
 * order and never past the declared size; a file is imported once complete and then deleted.
 */
export class Uploads {
  private readonly uploads = new Map<string, Upload>();

  constructor(private readonly dir: string) {}

  async begin(fileName: string, size: number): Promise<{ uploadId: string; chunkBytes: number }> {
    mkdirSync(this.dir, { recursive: true });
    const uploadId = randomUUID();
    const path = join(this.dir, `${uploadId}.part`);
    const handle = await open(path, 'wx');
    // Only the name is kept (a browser may send a Windows path).
    this.uploads.set(uploadId, { path, fileName: basename(fileName.replaceAll('\\', '/')), size, received: 0, handle, busy: false });
    return { uploadId, chunkBytes: UPLOAD_CHUNK_BYTES };
  }

  /** Writes a base64 chunk at `offset`, which must be the number of bytes received so far. */
  async chunk(uploadId: string, offset: number, data: string): Promise<{ received: number }> {
    const upload = this.get(uploadId);
    if (upload.busy || !upload.handle) throw new AppError('conflict', 'This upload is busy: send one chunk at a time.', { field: 'args.uploadId' });
    if (offset !== upload.received) {
      throw new AppError('invalid_arguments', `Chunks must arrive in order: expected offset ${upload.received}, got ${offset}.`, { field: 'args.offset' });
    }
    const bytes = Buffer.from(data, 'base64');
    if (bytes.length > UPLOAD_CHUNK_BYTES || upload.received + bytes.length > upload.size) {
      throw new AppError('invalid_arguments', `The chunk goes past the declared size of ${upload.size} bytes.`, { field: 'args.data' });
    }
    upload.busy = true;
    try {
      await upload.handle.write(bytes, 0, bytes.length, offset);
      upload.received += bytes.length;
    } finally {
      upload.busy = false;
    }
    return { received: upload.received };
  }

  async discard(uploadId: string): Promise<{ discarded: boolean }> {
    const upload = this.uploads.get(uploadId);
    if (!upload || upload.busy) return { discarded: false };
    await this.drop(uploadId);
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
    try {
      await upload.handle?.close();
      upload.handle = undefined;
      return await work(upload.path, upload.fileName);
    } finally {
      await this.drop(uploadId);
    }
  }

  /** Deletes every upload of this process. */
  async dispose(): Promise<void> {
    await Promise.all([...this.uploads.keys()].map((id) => this.drop(id)));
  }

  private get(uploadId: string): Upload {
    const upload = this.uploads.get(uploadId);
    if (!upload) throw new AppError('not_found', 'There is no such upload (it was imported, discarded, or the app restarted).', { field: 'args.uploadId' });
    return upload;
  }

  private async drop(uploadId: string): Promise<void> {
    const upload = this.uploads.get(uploadId);
    if (!upload) return;
    this.uploads.delete(uploadId);
    await upload.handle?.close().catch(() => {});
    upload.handle = undefined;
    rmSync(upload.path, { force: true });
  }
}
