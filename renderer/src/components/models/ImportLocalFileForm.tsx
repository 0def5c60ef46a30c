import { useRef, useState } from 'react';
import type { ChangeEvent, FormEvent } from 'react';
import { canLearnFilePaths } from '../../api/files';
import { useModels } from '../../stores/models';
import { useDropZone } from '../useDropZone';
import { NoticeLine } from '../NoticeLine';

/**
 * Import a local GGUF where it lies. In the desktop app a file can be chosen or dropped on this card (the preload tells
 * its path); a browser page never learns a file's path, so there the path is typed. Every file drag over the card stops
 * here: the window's dataset drop (components/FileDrop) never sees it.
 */
export function ImportLocalFileForm() {
  const { importPath, importFile, importing, importNotice } = useModels();
  const [path, setPath] = useState('');
  const picker = useRef<HTMLInputElement>(null);
  const desktop = canLearnFilePaths();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (path.trim() && (await importPath(path.trim()))) setPath('');
  };
  const pick = (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    event.target.value = ''; // the same file can be chosen again
    if (file) void importFile(file);
  };

  const { over, handlers } = useDropZone((file) => void importFile(file));

  return (
    <form
      className="card"
      aria-label="Import a local file"
      data-testid="import-drop"
      onSubmit={(e) => void submit(e)}
      {...handlers}
      style={over ? { outline: '2px dashed var(--accent)', outlineOffset: 2 } : undefined}
    >
      <h2>Import a local file</h2>
      {desktop && (
        <div className="inline">
          <button type="button" onClick={() => picker.current?.click()} disabled={importing}>
            Choose a .gguf file…
          </button>
          <input ref={picker} type="file" accept=".gguf" onChange={pick} hidden tabIndex={-1} aria-hidden="true" />
          <span className="muted small">{over ? 'Drop the .gguf file to import it' : 'or drop one on this card'}</span>
        </div>
      )}
      <label>
        Path of a .gguf file on this machine
        <input className="mono" value={path} onChange={(e) => setPath(e.target.value)} placeholder="/home/me/models/model.gguf" spellCheck={false} />
      </label>
      <div className="inline">
        <button type="submit" disabled={importing || !path.trim()}>
          {importing ? 'Importing… (reading its header and SHA-256)' : 'Import'}
        </button>
      </div>
      {desktop ? (
        <p className="muted small">The app reads the file’s header and takes its SHA-256; the file stays where it is.</p>
      ) : (
        <p className="muted small" data-testid="import-browser-note">
          The app reads the file’s header and takes its SHA-256. In a browser, choosing or dropping a .gguf file cannot import it: a web page does not learn a file’s
          path, so type the path here. Choosing or dropping a file works in the desktop app.
        </p>
      )}
      <NoticeLine notice={importNotice} testId="import-notice" />
    </form>
  );
}
