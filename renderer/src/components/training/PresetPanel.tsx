import { useMemo } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { PresetChoice } from '../../../../shared/contract/training';
import { gbNumber as GB } from '../../../../shared/training/memory';
import type { Remedy } from '../../../../shared/training/presets';
import { useNavigation } from '../../stores/navigation';
import { checkDraft, draftFit, presetModel, useTraining } from '../../stores/training';

function choiceText(c: PresetChoice): string {
  return `batch ${c.batchSize} · rank ${c.rank} · max length ${c.maxLength} · gradient checkpointing ${c.gradientCheckpointing ? 'on' : 'off'} · ${c.base.quant} base`;
}

/** One of the guide's remedies as a list item: what it changes, what it saves, and the total after it. */
function RemedyItem({ remedy }: { remedy: Pick<Remedy, 'title' | 'applies' | 'change' | 'savingBytes' | 'totalBytes' | 'fits'> }) {
  if (!remedy.applies) return <li className="muted">{`${remedy.title}: ${remedy.change}`}</li>;
  return (
    <li>
      <strong>{remedy.title}</strong> ({remedy.change}): saves {GB(remedy.savingBytes)} GB, then {GB(remedy.totalBytes)} GB{remedy.fits ? ' — fits' : ''}
    </li>
  );
}

/**
 * The guide's preset for the picked model on this machine, with its reasoning (the estimate in parts, the notes)
 * and "Use preset", which fills the form's batch size, rank, max length and checkpointing (and, on a GPU, picks the
 * preset's base file when another file of the model is installed).
 */
export function PresetPanel() {
  const { plan, planError, modelId, models, presetNotice, usePreset } = useTraining(
    useShallow((s) => ({ plan: s.plan, planError: s.planError, modelId: s.modelId, models: s.models, presetNotice: s.presetNotice, usePreset: s.usePreset })),
  );
  const go = useNavigation((s) => s.go);
  if (modelId === undefined) return null;
  if (planError) {
    return (
      <section className="training-preset" aria-label="Preset" data-testid="training-preset">
        <p className="error-text">Could not work out a preset for this model: {planError}</p>
      </section>
    );
  }
  if (!plan || plan.model.id !== modelId) {
    return (
      <section className="training-preset" aria-label="Preset" data-testid="training-preset" aria-busy="true">
        <p className="muted">Working out what fits this machine…</p>
      </section>
    );
  }
  const { preset } = plan;
  const other = plan.device === 'gpu' ? presetModel(plan, models, modelId) : undefined;
  const file = plan.model.files.find((f) => f.quant === preset.config.base.quant);
  const own = plan.model.files[0]!;
  return (
    <section className="training-preset" aria-label="Preset" data-testid="training-preset">
      <div className="preset-head">
        <div className="preset-title">
          <strong data-testid="preset-name">{preset.fits ? `Preset ${preset.name}` : 'Nothing fits'}</strong>
          <span className="muted small" data-testid="preset-memory">
            for {plan.memoryText}
          </span>
        </div>
        <button type="button" onClick={usePreset} aria-describedby="preset-choice">
          Use preset
        </button>
      </div>
      <p id="preset-choice" data-testid="preset-choice">
        {preset.fits ? '' : 'Even the smallest: '}
        {choiceText(preset.config)}
        {preset.name !== preset.tier && preset.fits && <span className="muted"> (the {preset.tier} tier for this memory does not fit this model)</span>}
      </p>
      <p className="mono preset-summary" data-testid="preset-summary">
        {preset.summary}
      </p>
      {preset.config.base.quant !== own.quant && plan.device === 'gpu' && (
        <p className="small" data-testid="preset-base">
          {other ? (
            <>The preset trains on the {preset.config.base.quant} file, installed as “{other.name}”: Use preset picks it.</>
          ) : file?.installedModelId === null && plan.model.catalogId ? (
            <>
              The preset is for the {preset.config.base.quant} file, which is not installed: download it on the{' '}
              <button type="button" className="link" onClick={() => go('models')}>
                Models page
              </button>
              , or train this {own.quant} file as it is.
            </>
          ) : null}
        </p>
      )}
      {(preset.notes.length > 0 || !preset.fits) && (
        <ul className="preset-notes small" data-testid="preset-notes">
          {preset.notes.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      )}
      {!preset.fits && (
        <div className="small">
          What would make it fit, in this order (each after the ones above):
          <ol className="remedies">
            {preset.remedies.map((r) => (
              <RemedyItem key={r.kind} remedy={r} />
            ))}
          </ol>
        </div>
      )}
      <p className="small" data-testid="preset-time">
        {preset.time ? (
          <>
            Time: {preset.time.summary}
            {plan.measured && <span className="muted"> (measured on job {plan.measured.jobId})</span>}
          </>
        ) : plan.device === 'cpu' ? (
          <span className="muted">{plan.timeNote}</span>
        ) : null}
      </p>
      {presetNotice && (
        <p className="ok-text small" role="status" data-testid="preset-notice">
          {presetNotice}
        </p>
      )}
    </section>
  );
}

/** Whether the form's values fit (the estimate the server refuses by), and when not, the guide's remedies. */
export function FitNotice() {
  const { plan, modelId, draft } = useTraining(useShallow((s) => ({ plan: s.plan, modelId: s.modelId, draft: s.draft })));
  const fit = useMemo(() => draftFit(plan, modelId, checkDraft(draft).config), [plan, modelId, draft]);
  if (!fit) return null;
  const where = fit.device === 'gpu' ? 'the GPU' : 'system memory';
  if (fit.kind === 'other-device') {
    return (
      <p className="muted small" data-testid="training-fit">
        The fit is worked out for {where} here; with the {draft.backend === 'cpu' ? 'CPU' : 'GPU'} backend it is checked when the job starts.
      </p>
    );
  }
  const { check } = fit;
  if (check.fits) {
    return (
      <p className="muted small" data-testid="training-fit" data-fits="true">
        These settings fit {where}: {check.summary}.
      </p>
    );
  }
  return (
    <div className="fit-warning" role="alert" data-testid="training-fit" data-fits="false">
      <p>
        <strong>These settings do not fit {where}:</strong> {check.summary}; {GB(check.usableBytes)} GB usable. The job would be refused.
      </p>
      <p className="small">What would make it fit, in this order (each after the ones above):</p>
      <ol className="remedies small">
        {check.remedies.map((r) => (
          <RemedyItem key={r.kind} remedy={r} />
        ))}
      </ol>
    </div>
  );
}
