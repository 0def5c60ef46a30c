import { useEffect, useState } from 'react';
import type { FormEvent } from 'react';
import type { LearningSettings } from '../../../../shared/contract/learning';
import { api } from '../../api/client';
import { messageOf } from '../../stores/errors';
import { useLearning } from '../../stores/learning';
import { SaveLine } from './SaveLine';
import type { SaveResult } from './SaveLine';

/** A field's problem, or undefined when the text is a valid value. */
function batchProblem(text: string): string | undefined {
  const n = Number(text);
  return text.trim() !== '' && Number.isInteger(n) && n >= 1 && n <= 10_000 ? undefined : 'a whole number from 1 to 10,000';
}
function thresholdProblem(text: string): string | undefined {
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) && n >= -1 && n <= 1 ? undefined : 'a reward from −1 to 1';
}

/** The adaptive loop's batch size, reward threshold and auto-trigger (`learning.updateSettings`). */
export function LearningSettingsForm() {
  const { status, load } = useLearning();
  const [batchSize, setBatchSize] = useState('');
  const [threshold, setThreshold] = useState('');
  const [autoTrigger, setAutoTrigger] = useState(true);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<SaveResult>(undefined);
  useEffect(() => {
    if (!status) void load();
  }, [status, load]);
  const settings = status?.settings;
  useEffect(() => {
    if (!settings) return;
    setBatchSize(String(settings.batchSize));
    setThreshold(String(settings.minRewardThreshold));
    setAutoTrigger(settings.autoTrigger);
  }, [settings]);

  if (!settings) return <p className="muted">Loading the learning settings…</p>;
  const problems = { batchSize: batchProblem(batchSize), threshold: thresholdProblem(threshold) };
  const changed = batchSize !== String(settings.batchSize) || threshold !== String(settings.minRewardThreshold) || autoTrigger !== settings.autoTrigger;
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (problems.batchSize || problems.threshold) return;
    const patch: Partial<LearningSettings> = { batchSize: Number(batchSize), minRewardThreshold: Number(threshold), autoTrigger };
    setBusy(true);
    try {
      useLearning.setState({ status: await api.learning.updateSettings(patch) });
      setResult({ tone: 'ok', text: 'Saved.' });
    } catch (error) {
      setResult({ tone: 'error', text: messageOf(error) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="settings-form" aria-label="Learning settings" noValidate onSubmit={(e) => void submit(e)}>
      <div className="settings-fields">
        <label>
          Batch size
          <input type="number" min={1} max={10000} step={1} value={batchSize} onChange={(e) => setBatchSize(e.target.value)} aria-invalid={problems.batchSize !== undefined} aria-describedby="batch-size-help" />
          <span id="batch-size-help" className={problems.batchSize ? 'error-text small' : 'muted small'}>
            {problems.batchSize ? `Give ${problems.batchSize}.` : 'Examples per adaptive training run. Default 50.'}
          </span>
        </label>
        <label>
          Minimum reward to train on
          <input type="number" min={-1} max={1} step={0.05} value={threshold} onChange={(e) => setThreshold(e.target.value)} aria-invalid={problems.threshold !== undefined} aria-describedby="threshold-help" />
          <span id="threshold-help" className={problems.threshold ? 'error-text small' : 'muted small'}>
            {problems.threshold ? `Give ${problems.threshold}.` : 'Examples rewarded below this are kept but not trained on. Default 0.3.'}
          </span>
        </label>
      </div>
      <label className="checkbox">
        <input type="checkbox" checked={autoTrigger} onChange={(e) => setAutoTrigger(e.target.checked)} /> Start a training batch by itself when enough examples wait
      </label>
      <div className="inline">
        <button type="submit" disabled={busy || !changed || problems.batchSize !== undefined || problems.threshold !== undefined}>
          {busy ? 'Saving…' : 'Save learning settings'}
        </button>
        <SaveLine result={result} testId="learning-settings-result" />
      </div>
      <p className="muted small">With the automatic start on (and learning not paused), a batch that becomes due is created at once. {status?.pending ?? 0} eligible examples wait now.</p>
    </form>
  );
}
