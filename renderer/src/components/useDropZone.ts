import { useState } from 'react';
import type { DragEvent } from 'react';

const carriesFiles = (event: DragEvent) => event.dataTransfer.types.includes('Files');

/**
 * A drop target for one file. Every file drag over it stops here, so the window's dataset drop
 * (components/FileDrop, listening on window) never sees it. `over` is true while a file hovers.
 */
export function useDropZone(onFile: (file: File) => void, disabled = false) {
  const [over, setOver] = useState(false);
  const stopHere = (event: DragEvent) => {
    if (!carriesFiles(event)) return false;
    event.preventDefault();
    event.stopPropagation();
    return true;
  };
  const handlers = {
    onDragEnter: (event: DragEvent) => {
      if (stopHere(event) && !disabled) setOver(true);
    },
    onDragOver: (event: DragEvent) => {
      if (stopHere(event)) event.dataTransfer.dropEffect = disabled ? 'none' : 'copy';
    },
    onDragLeave: (event: DragEvent) => {
      if (stopHere(event) && !event.currentTarget.contains(event.relatedTarget as Node | null)) setOver(false);
    },
    onDrop: (event: DragEvent) => {
      if (!stopHere(event)) return;
      setOver(false);
      const file = event.dataTransfer.files[0];
      if (file && !disabled) onFile(file);
    },
  };
  return { over, handlers };
}
