import { useEffect, useState } from 'react';
import type { FormEvent } from 'react';
import { api } from '../../api/client';
import { messageOf } from '../../stores/errors';
import { useModels } from '../../stores/models';
import { SaveLine } from './SaveLine';
import type { SaveResult } from './SaveLine';

function hostProblem(text: string): string | undefined {
  try {
    const url = new URL(text.trim());
    return url.protocol === 'http:' || url.protocol === 'https:' ? undefined : 'an http:// or https:// address';
  } catch {
    return 'an address like http://127.0.0.1:11434';
  }
}

/** Ollama's address (`generation.setSettings({ ollamaHost })`), and whether a server answers there. */
export function OllamaHostForm() {
  const { ollama, refreshOllama } = useModels();
  const [saved, setSaved] = useState<string | undefined>(undefined);
  const [host, setHost] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<SaveResult>(undefined);
  useEffect(() => {
    api.generation.settings({}).then(
      (settings) => {
        setSaved(settings.ollamaHost);
        setHost(settings.ollamaHost);
      },
      (error: unknown) => setResult({ tone: 'error', text: `Could not read the generation settings: ${messageOf(error)}` }),
    );
    void refreshOllama();
  }, [refreshOllama]);

  const problem = host.trim() === '' ? 'an address' : hostProblem(host);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (problem) return;
    setBusy(true);
    try {
      const settings = await api.generation.setSettings({ ollamaHost: host.trim() });
      setSaved(settings.ollamaHost);
      setHost(settings.ollamaHost);
      setResult({ tone: 'ok', text: 'Saved.' });
      await refreshOllama();
    } catch (error) {
      setResult({ tone: 'error', text: messageOf(error) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="settings-form" aria-label="Ollama host" noValidate onSubmit={(e) => void submit(e)}>
      <label>
        Ollama host
        <input className="mono" value={host} onChange={(e) => setHost(e.target.value)} placeholder="http://127.0.0.1:11434" spellCheck={false} aria-invalid={saved !== undefined && problem !== undefined} aria-describedby="ollama-host-help" />
        <span id="ollama-host-help" className={saved !== undefined && problem ? 'error-text small' : 'muted small'}>
          {saved !== undefined && problem ? `Give ${problem}.` : 'Optional: used for Ollama models on the Generate page and to publish versions.'}
        </span>
      </label>
      <div className="inline">
        <button type="submit" disabled={busy || saved === undefined || problem !== undefined || host.trim() === saved}>
          {busy ? 'Saving…' : 'Save host'}
        </button>
        <button type="button" onClick={() => void refreshOllama()}>
          Check again
        </button>
        <SaveLine result={result} testId="ollama-settings-result" />
      </div>
      {ollama && (
        <p className="small" data-testid="settings-ollama-status">
          {ollama.reachable ? (
            <>
              <span className="ok-text">Answers</span> at <code>{ollama.host}</code>
              {ollama.version && ` (Ollama ${ollama.version})`}: {ollama.models.length === 1 ? '1 model' : `${ollama.models.length} models`}.
            </>
          ) : (
            <span className="muted">{ollama.error ?? `No answer at ${ollama.host}. The local models work without it.`}</span>
          )}
        </p>
      )}
    </form>
  );
}
