import { useState } from 'react';
import type { FormEvent } from 'react';
import { useModels } from '../../stores/models';
import { NoticeLine } from '../NoticeLine';

/** A form that starts a download from an https address or an hf: reference. */
export function DownloadFromUrlForm() {
  const { download, downloadNotice } = useModels();
  const [uri, setUri] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!uri.trim() || busy) return;
    setBusy(true);
    if (await download({ uri: uri.trim() })) setUri('');
    setBusy(false);
  };
  return (
    <form className="card" aria-label="Download from URL" onSubmit={(e) => void submit(e)}>
      <h2>Download from URL</h2>
      <label>
        GGUF address
        <input
          className="mono"
          value={uri}
          onChange={(e) => setUri(e.target.value)}
          placeholder="https://…/model.Q4_K_M.gguf or hf:owner/repo/file.gguf"
          spellCheck={false}
        />
      </label>
      <div className="inline">
        <button type="submit" disabled={busy || !uri.trim()}>
          {busy ? 'Starting…' : 'Download'}
        </button>
      </div>
      <NoticeLine notice={downloadNotice} testId="download-notice" />
    </form>
  );
}
