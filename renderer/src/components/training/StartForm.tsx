import { useMemo } from 'react';
import type { ReactNode } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { LoraTarget, Schedule } from '../../../../shared/training/config';
import type { TrainingConfig } from '../../../../shared/training/config';
import { useNavigation } from '../../stores/navigation';
import { BOUNDS, checkDraft, DEFAULT_CONFIG, FIELD_LABELS, useTraining } from '../../stores/training';
import type { FieldErrors, NumberField } from '../../stores/training';
import { datasetLabel, isFourBit, modelLabel, showJobPanel } from './format';
import { FitNotice, PresetPanel } from './PresetPanel';

const TARGET_HINTS: Record<LoraTarget, string> = {
  attn_q: 'attention query',
  attn_k: 'attention key',
  attn_v: 'attention value',
  attn_output: 'attention output',
  ffn_gate: 'feed-forward gate',
  ffn_up: 'feed-forward up',
  ffn_down: 'feed-forward down',
};

const BACKENDS: { value: TrainingConfig['backend']; label: string }[] = [
  { value: 'auto', label: 'auto' },
  { value: 'cuda', label: 'GPU (cuda)' },
  { value: 'cpu', label: 'CPU' },
];

const SCHEDULE_LABELS: Record<Schedule, string> = { constant: 'constant', linear: 'linear decay', cosine: 'cosine decay' };

/** Extra words under a field, beside its bounds. */
const HINTS: Partial<Record<NumberField, string>> = {
  learningRate: 'peak rate',
  gradAccum: 'micro-batches per step',
  alpha: 'scale = alpha / rank',
  maxLength: 'tokens per example',
  warmup: 'steps',
  clip: 'max gradient norm; 0: off',
  evalEvery: 'steps; 0: at epoch ends',
  checkpointEvery: 'steps; 0: every 10',
  threads: 'empty: all cores',
  weightDecay: 'AdamW',
};

/** The bounds in words: "1 – 1000", "0 to under 1", "over 0, to 1", "≥ 0" (a bound in the millions is left to the error). */
function boundsText(field: NumberField): string {
  const { min, max, minInclusive, maxInclusive } = BOUNDS[field];
  const lo = Number.isFinite(min) ? (minInclusive ? `≥ ${min}` : `> ${min}`) : '';
  if (!Number.isFinite(max) || max >= 1e6) return lo;
  if (!Number.isFinite(min)) return maxInclusive ? `≤ ${max}` : `< ${max}`;
  if (minInclusive && maxInclusive) return `${min} – ${max}`;
  if (minInclusive) return `${min} to under ${max}`;
  return maxInclusive ? `over ${min}, to ${max}` : `over ${min}, under ${max}`;
}

const plural = (n: number, word: string) => `${n.toLocaleString()} ${word}${n === 1 ? '' : 's'}`;

/** Why Start cannot run now, or undefined when it can. */
function blockedReason(modelId: number | undefined, datasetId: number | undefined, errors: FieldErrors): string | undefined {
  if (modelId === undefined) return 'Pick a trainable model first (install one on the Models page).';
  if (datasetId === undefined) return 'Pick a dataset first (import one on the Datasets page).';
  const first = Object.values(errors)[0];
  if (first) return `${first}.`;
  return undefined;
}

/** The form that starts a manual job: base model, dataset and every hyperparameter of TrainingConfig. */
export function StartForm() {
  // Only what the form shows: progress events (many a second) must not re-render it.
  const { models, datasets, modelId, datasetId, draft, starting, startNotice, setModel, setDataset, setDraft, toggleTarget, resetDraft, start } = useTraining(
    useShallow((s) => ({
      models: s.models,
      datasets: s.datasets,
      modelId: s.modelId,
      datasetId: s.datasetId,
      draft: s.draft,
      starting: s.starting,
      startNotice: s.startNotice,
      setModel: s.setModel,
      setDataset: s.setDataset,
      setDraft: s.setDraft,
      toggleTarget: s.toggleTarget,
      resetDraft: s.resetDraft,
      start: s.start,
    })),
  );
  const go = useNavigation((s) => s.go);
  const { errors } = useMemo(() => checkDraft(draft), [draft]);
  const blocked = blockedReason(modelId, datasetId, errors);
  const model = models.find((m) => m.id === modelId);
  const dataset = datasets.find((d) => d.id === datasetId);
  const trainable = models.filter((m) => m.trainable && !m.missing);
  const changed = JSON.stringify(checkDraft(draft).config ?? null) !== JSON.stringify(DEFAULT_CONFIG) || draft.numbers.threads !== '';

  return (
    <form
      className="card training-form"
      aria-label="New training job"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        if (blocked) return;
        void start().then(() => {
          // The new job shows in the panel above: bring it into view.
          if (useTraining.getState().startNotice?.tone === 'ok') showJobPanel();
        });
      }}
    >
      <h2>New training job</h2>
      <div className="training-pickers">
        <div className="field">
          <label htmlFor="training-model">Base model</label>
          <select id="training-model" value={modelId ?? ''} onChange={(e) => setModel(e.target.value === '' ? undefined : Number(e.target.value))} aria-describedby="training-model-note">
            {modelId === undefined && <option value="">{trainable.length === 0 ? 'No trainable model installed' : 'Choose a model…'}</option>}
            {models.map((m) => (
              <option key={m.id} value={m.id} disabled={!m.trainable || m.missing}>
                {modelLabel(m)}
                {m.missing ? ' — file missing' : !m.trainable ? ` — ${m.trainReason ?? 'generation only'}` : ''}
              </option>
            ))}
          </select>
          <p id="training-model-note" className="muted small field-note">
            {model && isFourBit(model) ? (
              <>
                <span className="badge">4-bit base: QLoRA</span> the base stays quantized while the adapter trains.
              </>
            ) : (
              <>
                {model ? `${model.quant ?? model.fileType} base: LoRA on its weights as they are. ` : ''}The base file decides: pick a 4-bit file on the{' '}
                <button type="button" className="link" onClick={() => go('models')}>
                  Models page
                </button>{' '}
                for QLoRA.
              </>
            )}
            {trainable.length === 0 && models.length > 0 && ' None of the installed models can be trained (generation only).'}
          </p>
        </div>
        <div className="field">
          <label htmlFor="training-dataset">Dataset</label>
          <select id="training-dataset" value={datasetId ?? ''} onChange={(e) => setDataset(e.target.value === '' ? undefined : Number(e.target.value))} aria-describedby="training-dataset-note">
            {datasetId === undefined && <option value="">{datasets.length === 0 ? 'No dataset yet' : 'Choose a dataset…'}</option>}
            {datasets.map((d) => (
              <option key={d.id} value={d.id} disabled={d.train === 0}>
                {datasetLabel(d)}
                {d.train === 0 ? ' — no training examples' : ''}
              </option>
            ))}
          </select>
          <p id="training-dataset-note" className="muted small field-note">
            {dataset ? (
              `Trains on its ${plural(dataset.train, 'training example')}; ${dataset.validation > 0 ? `its ${plural(dataset.validation, 'validation example')} give${dataset.validation === 1 ? 's' : ''} the validation loss.` : 'it holds none out, so there is no validation loss.'}`
            ) : (
              <>
                Import a JSONL file on the{' '}
                <button type="button" className="link" onClick={() => go('datasets')}>
                  Datasets page
                </button>
                .
              </>
            )}
          </p>
        </div>
      </div>
      <PresetPanel />

      <fieldset className="training-group">
        <legend>Schedule</legend>
        <NumberInput field="epochs" errors={errors} />
        <NumberInput field="learningRate" errors={errors} />
        <div className="field">
          <label htmlFor="training-schedule">{FIELD_LABELS.schedule}</label>
          <select id="training-schedule" value={draft.schedule} onChange={(e) => setDraft({ schedule: e.target.value as Schedule })}>
            {Schedule.options.map((s) => (
              <option key={s} value={s}>
                {SCHEDULE_LABELS[s]}
              </option>
            ))}
          </select>
        </div>
        <NumberInput field="warmup" errors={errors} />
        <NumberInput field="batchSize" errors={errors} />
        <NumberInput field="gradAccum" errors={errors} />
      </fieldset>

      <fieldset className="training-group">
        <legend>LoRA</legend>
        <NumberInput field="rank" errors={errors} />
        <NumberInput field="alpha" errors={errors} />
        <NumberInput field="dropout" errors={errors} />
        <fieldset className="targets field-row" aria-describedby={errors.targets ? 'training-targets-error' : undefined}>
          <legend>{FIELD_LABELS.targets}</legend>
          {LoraTarget.options.map((t) => (
            <label key={t} className="checkbox" title={TARGET_HINTS[t]}>
              <input type="checkbox" checked={draft.targets.includes(t)} onChange={(e) => toggleTarget(t, e.target.checked)} aria-invalid={errors.targets ? true : undefined} />
              <span className="mono">{t}</span>
            </label>
          ))}
          {errors.targets && (
            <span id="training-targets-error" className="field-error">
              {errors.targets}
            </span>
          )}
        </fieldset>
      </fieldset>

      <fieldset className="training-group">
        <legend>Data and optimizer</legend>
        <NumberInput field="maxLength" errors={errors} />
        <NumberInput field="valSplit" errors={errors} note={dataset ? `not used here: ${dataset.name} brings its own split` : undefined} />
        <NumberInput field="weightDecay" errors={errors} />
        <NumberInput field="beta1" errors={errors} />
        <NumberInput field="beta2" errors={errors} />
        <NumberInput field="clip" errors={errors} />
      </fieldset>

      <fieldset className="training-group">
        <legend>Run</legend>
        <NumberInput field="threads" errors={errors} />
        <div className="field">
          <label htmlFor="training-backend">{FIELD_LABELS.backend}</label>
          <select id="training-backend" value={draft.backend} onChange={(e) => setDraft({ backend: e.target.value as TrainingConfig['backend'] })} aria-describedby="training-backend-help">
            {BACKENDS.map((b) => (
              <option key={b.value} value={b.value}>
                {b.label}
              </option>
            ))}
          </select>
          <span id="training-backend-help" className="muted small">
            {draft.backend === 'auto' ? 'the GPU when there is one' : draft.backend === 'cuda' ? 'any GPU backend' : 'base weights in RAM'}
          </span>
        </div>
        <NumberInput field="seed" errors={errors} />
        <NumberInput field="evalEvery" errors={errors} />
        <NumberInput field="checkpointEvery" errors={errors} />
        <div className="field" title="Recompute activations in the backward pass: less memory, about a third slower">
          <label className="checkbox">
            <input type="checkbox" checked={draft.gradientCheckpointing} onChange={(e) => setDraft({ gradientCheckpointing: e.target.checked })} aria-describedby="training-gradientCheckpointing-help" />
            {FIELD_LABELS.gradientCheckpointing}
          </label>
          <span id="training-gradientCheckpointing-help" className="muted small">
            less memory, ~⅓ slower
          </span>
        </div>
      </fieldset>

      <FitNotice />
      <div className="training-actions">
        <button type="submit" className="primary" disabled={blocked !== undefined || starting} aria-describedby={blocked ? 'training-blocked' : undefined}>
          {starting ? 'Starting…' : 'Start training'}
        </button>
        <button type="button" onClick={resetDraft} disabled={!changed}>
          Reset to defaults
        </button>
        {blocked && (
          <span id="training-blocked" className="muted small" data-testid="training-blocked">
            {blocked}
          </span>
        )}
      </div>
      {startNotice && (
        <p className={startNotice.tone === 'error' ? 'error-text' : 'ok-text'} role={startNotice.tone === 'error' ? 'alert' : 'status'} data-testid="training-start-notice">
          {startNotice.text}
        </p>
      )}
    </form>
  );
}

function NumberInput({ field, errors, note }: { field: NumberField; errors: FieldErrors; note?: ReactNode }) {
  const value = useTraining((s) => s.draft.numbers[field]);
  const setNumber = useTraining((s) => s.setNumber);
  const { min, max, integer } = BOUNDS[field];
  const id = `training-${field}`;
  const error = errors[field];
  const hint = [HINTS[field], boundsText(field)].filter(Boolean).join(' · ');
  return (
    <div className={error ? 'field invalid' : 'field'}>
      <label htmlFor={id}>{FIELD_LABELS[field]}</label>
      <input
        id={id}
        name={field}
        type="number"
        inputMode={integer ? 'numeric' : 'decimal'}
        min={Number.isFinite(min) ? min : undefined}
        max={Number.isFinite(max) ? max : undefined}
        step={integer ? 1 : 'any'}
        value={value}
        placeholder={field === 'threads' ? 'all cores' : undefined}
        onChange={(e) => setNumber(field, e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={`${id}-help`}
      />
      {error ? (
        <span id={`${id}-help`} className="field-error" data-testid={`field-error-${field}`}>
          {error}
        </span>
      ) : (
        <span id={`${id}-help`} className="muted small">
          {note ?? hint}
        </span>
      )}
    </div>
  );
}
