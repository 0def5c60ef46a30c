import { useState } from 'react';
import type { FormEvent } from 'react';
import type { ArtifactKind } from '../../../shared/contract/validation';
import { KindOptions } from '../components/feedback';
import { useArtifact } from '../stores/artifact';

/** Until generation exists: paste a kind, the prompt and the model's output. It is validated on arrival. */
export function AddArtifactForm({ onAdded }: { onAdded(id: number): void }) {
  const [kind, setKind] = useState<ArtifactKind>('erd');
  const [prompt, setPrompt] = useState('');
  const [output, setOutput] = useState('');
  const [language, setLanguage] = useState('');
  const { busy, error, add } = useArtifact();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const id = await add({ kind, prompt, output, ...(kind === 'code' && language.trim() ? { language: language.trim() } : {}) });
    if (id !== undefined) onAdded(id);
  };

  return (
    <form className="card add-artifact" onSubmit={(e) => void submit(e)} aria-label="Add artifact">
      <h2>Add artifact</h2>
      <div className="form-row">
        <label>
          Kind
          <select value={kind} onChange={(e) => setKind(e.target.value as ArtifactKind)} name="kind">
            <KindOptions />
          </select>
        </label>
        {kind === 'code' && (
          <label>
            Language
            <input value={language} onChange={(e) => setLanguage(e.target.value)} placeholder="typescript, python, …" name="language" />
          </label>
        )}
      </div>
      <label>
        Prompt or requirements
        <textarea value={prompt} onChange={(e) => setPrompt(e.target.value)} rows={3} name="prompt" required />
      </label>
      <label>
        Generated output
        <textarea value={output} onChange={(e) => setOutput(e.target.value)} rows={10} className="mono" name="output" required />
      </label>
      {error && busy === undefined && (
        <div className="banner error" role="alert">
          {error}
        </div>
      )}
      <button type="submit" disabled={busy !== undefined || !prompt.trim() || !output.trim()}>
        {busy === 'add' ? 'Adding and validating…' : 'Add and validate'}
      </button>
    </form>
  );
}
