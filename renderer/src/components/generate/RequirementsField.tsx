import { useState } from 'react';
import type { ChangeEvent } from 'react';
import { MAX_TEXT_BYTES } from '../../../../shared/contract/validation';
import { useGenerate } from '../../stores/generate';
import { useDropZone } from '../useDropZone';

/** Requirements and meeting notes come as plain text or Markdown. */
export const REQUIREMENTS_FILE = /\.(txt|md|markdown|text)$/i;

/**
 * The requirements textarea. A .txt or .md file dropped on it (or picked) is read here in the renderer and
 * fills the field; the drop stops at this field, so the window-wide dataset import never sees it.
 */
export function RequirementsField({ disabled }: { disabled: boolean }) {
  const { requirements, set } = useGenerate();
  const [notice, setNotice] = useState<{ tone: 'ok' | 'error'; text: string } | undefined>();

  const load = async (file: File) => {
    if (!REQUIREMENTS_FILE.test(file.name)) {
      return setNotice({ tone: 'error', text: `${file.name} is not a .txt or .md file: requirements are read from plain text or Markdown.` });
    }
    if (file.size > MAX_TEXT_BYTES) {
      return setNotice({ tone: 'error', text: `${file.name} is ${(file.size / 1024 / 1024).toFixed(1)} MiB: requirements can be at most 1 MiB.` });
    }
    try {
      const text = await file.text();
      set({ requirements: text });
      setNotice({ tone: 'ok', text: `Read ${file.name} (${text.length.toLocaleString()} characters).` });
    } catch (error) {
      setNotice({ tone: 'error', text: `Could not read ${file.name}: ${error instanceof Error ? error.message : String(error)}` });
    }
  };

  const { over, handlers } = useDropZone((file) => void load(file), disabled);
  const pick = (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    event.target.value = '';
    if (file) void load(file);
  };

  return (
    <div
      className={over ? 'requirements drop-target over' : 'requirements drop-target'}
      data-testid="requirements-drop"
      {...handlers}
    >
      <div className="requirements-head">
        <label htmlFor="requirements">Requirements</label>
        <label className={disabled ? 'button small disabled' : 'button small'}>
          Load a .txt or .md file…
          <input type="file" accept=".txt,.md,.markdown,text/plain,text/markdown" onChange={pick} disabled={disabled} hidden aria-label="Load a .txt or .md file" />
        </label>
      </div>
      <textarea
        id="requirements"
        rows={6}
        value={requirements}
        onChange={(e) => set({ requirements: e.target.value })}
        disabled={disabled}
        placeholder="Describe what to design, or paste meeting notes. You can also drop a .txt or .md file here."
      />
      {over && <div className="drop-hint">Drop a .txt or .md file to use it as the requirements</div>}
      {notice && (
        <p className={notice.tone === 'error' ? 'error-text small' : 'muted small'} role={notice.tone === 'error' ? 'alert' : 'status'} data-testid="requirements-notice">
          {notice.text}
        </p>
      )}
    </div>
  );
}
