import { useEffect, useRef } from 'react';
import { samplingProblem, useGenerate } from '../../stores/generate';
import type { SamplingField } from '../../stores/generate';

const FIELDS: { field: SamplingField; label: string; step: string; min: number; max: number; hint: string }[] = [
  { field: 'temperature', label: 'Temperature', step: '0.05', min: 0, max: 2, hint: '0 is greedy' },
  { field: 'topP', label: 'Top-p', step: '0.05', min: 0, max: 1, hint: '0 < p ≤ 1' },
  { field: 'maxTokens', label: 'Max tokens', step: '1', min: 1, max: 32768, hint: '1 – 32768' },
  { field: 'seed', label: 'Seed', step: '1', min: 0, max: 2 ** 31 - 1, hint: 'empty: random' },
  { field: 'contextSize', label: 'Context size', step: '256', min: 256, max: 131072, hint: 'tokens; at most the model’s' },
  { field: 'threads', label: 'CPU threads', step: '1', min: 0, max: 1024, hint: 'empty: all math cores' },
];

/** Sampling settings, prefilled from the saved defaults (`generation.settings`), folded away by default. */
export function SamplingSettingsPanel({ disabled }: { disabled: boolean }) {
  const { sampling, samplingEdited, settings, settingsError, settingsNotice, setSampling, resetSampling, saveSamplingDefaults } = useGenerate();
  const problems = FIELDS.map(({ field }) => samplingProblem(field, sampling[field]));
  const invalid = problems.some(Boolean);
  const panel = useRef<HTMLDetailsElement>(null);
  // A field that cannot be used is shown, not left folded away.
  useEffect(() => {
    if (invalid && panel.current) panel.current.open = true;
  }, [invalid]);
  const summary = settings ? `temperature ${sampling.temperature || '?'}, top-p ${sampling.topP || '?'}, max ${sampling.maxTokens || '?'} tokens, seed ${sampling.seed || 'random'}` : '';
  return (
    <details className="sampling" ref={panel}>
      <summary>
        Sampling settings <span className="muted small">{summary}</span>
      </summary>
      {settingsError && <p className="error-text small">Could not load the saved defaults: {settingsError}</p>}
      <fieldset className="sampling-fields" disabled={disabled}>
        {FIELDS.map(({ field, label, step, min, max, hint }, i) => (
          <div key={field} className="sampling-field">
            <label htmlFor={`sampling-${field}`}>{label}</label>
            <input
              id={`sampling-${field}`}
              type="number"
              inputMode="decimal"
              step={step}
              min={min}
              max={max}
              value={sampling[field]}
              onChange={(e) => setSampling(field, e.target.value)}
              placeholder={field === 'seed' ? 'random' : field === 'threads' ? 'automatic' : undefined}
              aria-invalid={problems[i] ? true : undefined}
              aria-describedby={`sampling-${field}-hint`}
            />
            <span id={`sampling-${field}-hint`} className={problems[i] ? 'error-text small' : 'muted small'}>
              {problems[i] ?? hint}
            </span>
          </div>
        ))}
      </fieldset>
      <div className="inline">
        <button type="button" onClick={resetSampling} disabled={disabled || !samplingEdited || !settings}>
          Reset to the defaults
        </button>
        <button type="button" onClick={() => void saveSamplingDefaults()} disabled={disabled || !samplingEdited || invalid}>
          Save as the defaults
        </button>
        {settingsNotice && (
          <span className="muted small" role="status">
            {settingsNotice}
          </span>
        )}
      </div>
    </details>
  );
}
