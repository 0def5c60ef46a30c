import { useState } from 'react';
import type { FormEvent } from 'react';
import { api } from '../../api/client';
import { messageOf } from '../../stores/errors';
import { formatGB, useModels } from '../../stores/models';
import type { Notice } from '../../stores/models';
import { NoticeLine } from '../NoticeLine';

/** Whether Ollama answers at its host and which models it has, with a form to change the host and check again. */
export function OllamaStatusCard() {
  const { ollama, errors, refreshOllama } = useModels();
  const [host, setHost] = useState<string | undefined>();
  const [hostNotice, setHostNotice] = useState<Notice | undefined>();
  const saveHost = async (event: FormEvent) => {
    event.preventDefault();
    if (!host?.trim()) return;
    try {
      await api.generation.setSettings({ ollamaHost: host.trim() });
      setHostNotice({ tone: 'ok', text: 'Saved.' });
      setHost(undefined);
      await refreshOllama();
    } catch (error) {
      setHostNotice({ tone: 'error', text: messageOf(error) });
    }
  };
  return (
    <article className="card ollama" aria-label="Ollama">
      <h2>Ollama</h2>
      {errors.ollama && (
        <p className="error-text" role="alert">
          Could not ask for the Ollama status: {errors.ollama}
        </p>
      )}
      {ollama && (
        <>
          <p data-testid="ollama-status">
            {ollama.reachable ? (
              <>
                <span className="ok-text">Reachable</span> at <code>{ollama.host}</code>
                {ollama.version && ` (Ollama ${ollama.version})`}: {ollama.models.length === 1 ? '1 model' : `${ollama.models.length} models`}.
              </>
            ) : (
              <>
                <span className="error-text">Not reachable</span> at <code>{ollama.host}</code>
                {ollama.error ? `: ${ollama.error.replace(/\.?\s*$/, '.')}` : '. Ollama is optional; the local models keep working.'}
              </>
            )}
          </p>
          {ollama.reachable && ollama.models.length > 0 && (
            <table className="models-table">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Size</th>
                  <th>Family</th>
                  <th>Parameters</th>
                  <th>Quantization</th>
                </tr>
              </thead>
              <tbody>
                {ollama.models.map((m) => (
                  <tr key={m.name}>
                    <td>{m.name}</td>
                    <td className="nowrap">{formatGB(m.sizeBytes)}</td>
                    <td>{m.family ?? '—'}</td>
                    <td>{m.parameterSize ?? '—'}</td>
                    <td>{m.quantization ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
      <form className="inline" onSubmit={(e) => void saveHost(e)} aria-label="Ollama host">
        <label className="inline-label">
          Host
          <input className="mono" value={host ?? ollama?.host ?? ''} onChange={(e) => setHost(e.target.value)} placeholder="http://127.0.0.1:11434" spellCheck={false} />
        </label>
        <button type="submit" disabled={host === undefined || !host.trim() || host.trim() === ollama?.host}>
          Save host
        </button>
        <button type="button" onClick={() => void refreshOllama()}>
          Check again
        </button>
        {hostNotice && <NoticeLine notice={hostNotice} testId="ollama-host-notice" />}
      </form>
    </article>
  );
}
