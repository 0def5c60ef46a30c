import { api } from './client';

/** A chunk of a file as base64 (the browser's own encoder: FileReader gives a data: URL). */
function base64Of(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).slice(String(reader.result).indexOf(',') + 1));
    reader.onerror = () => reject(reader.error ?? new Error('The file could not be read.'));
    reader.readAsDataURL(blob);
  });
}

/**
 * Sends a file to the app in chunks through the contract (the same path in the desktop window and in
 * a browser on the headless host); resolves with the upload id once every byte arrived. Aborting
 * discards what was sent.
 */
export async function uploadFile(file: File, onProgress: (sent: number) => void, signal: AbortSignal): Promise<string> {
  const { uploadId, chunkBytes } = await api.datasets.beginUpload({ fileName: file.name, size: file.size }, { signal });
  try {
    for (let offset = 0; offset < file.size; ) {
      const data = await base64Of(file.slice(offset, offset + chunkBytes));
      signal.throwIfAborted();
      const { received } = await api.datasets.uploadChunk({ uploadId, offset, data }, { signal });
      offset = received;
      onProgress(received);
    }
    return uploadId;
  } catch (error) {
    void api.datasets.discardUpload({ uploadId }).catch(() => {});
    throw error;
  }
}

/** Downloads text as a file (the browser's download, or the desktop app's). */
export function saveText(parts: string[], fileName: string): void {
  const url = URL.createObjectURL(new Blob(parts, { type: 'application/x-ndjson' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
