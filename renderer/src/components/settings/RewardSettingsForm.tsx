import { useEffect, useState } from 'react';
import type { FormEvent, ReactNode } from 'react';
import { DEFAULT_REWARD_SETTINGS, RewardSettings } from '../../../../shared/reward';
import { api } from '../../api/client';
import { messageOf } from '../../stores/errors';
import { Thumb } from '../feedback';
import { SaveLine } from './SaveLine';
import type { SaveResult } from './SaveLine';

type RangeKey = 'success' | 'failure' | 'correction' | 'positive' | 'negative';
type FieldKey = `${RangeKey}.${'weak' | 'strong'}` | 'successAt' | 'failureBelow';
type Draft = Record<FieldKey, string>;

const RANGES: { key: RangeKey; event: ReactNode; name: string; when: string }[] = [
  { key: 'success', event: '✓ Validation passes', name: 'Validation success', when: 'at the threshold → weak, at 100 → strong' },
  { key: 'failure', event: '✗ Validation fails', name: 'Validation failure', when: 'just below the threshold → weak, at 0 → strong' },
  { key: 'correction', event: '✎ Correction', name: 'Correction', when: 'total rewrite → weak, smallest edit → strong' },
  { key: 'positive', event: <><Thumb /> Good</>, name: 'Thumbs up', when: 'on an artifact that failed validation → weak, validated perfect or unvalidated → strong' },
  { key: 'negative', event: <><Thumb down /> Bad</>, name: 'Thumbs down', when: 'on an artifact that validated perfectly → weak, otherwise → strong' },
];

function rangeOf(settings: RewardSettings, key: RangeKey) {
  return key === 'success' || key === 'failure' ? settings.validation[key] : settings[key];
}

function draftOf(settings: RewardSettings): Draft {
  const draft = { successAt: String(settings.validation.successAt), failureBelow: String(settings.validation.failureBelow) } as Draft;
  for (const { key } of RANGES) {
    const range = rangeOf(settings, key);
    draft[`${key}.weak`] = String(range.weak);
    draft[`${key}.strong`] = String(range.strong);
  }
  return draft;
}

/** The draft as settings, or the problem of each field that is not a valid value. */
function parse(draft: Draft): { settings: RewardSettings } | { problems: Partial<Record<FieldKey, string>> } {
  const problems: Partial<Record<FieldKey, string>> = {};
  const num = (key: FieldKey, min: number, max: number) => {
    const text = draft[key].trim();
    const n = Number(text);
    if (text === '' || !Number.isFinite(n) || n < min || n > max) problems[key] = min === -1 ? 'from −1 to 1' : `from ${min} to ${max}`;
    return n;
  };
  const range = (key: RangeKey) => ({ weak: num(`${key}.weak`, -1, 1), strong: num(`${key}.strong`, -1, 1) });
  const candidate = {
    validation: { successAt: num('successAt', 0, 100), failureBelow: num('failureBelow', 0, 100), success: range('success'), failure: range('failure') },
    correction: range('correction'),
    positive: range('positive'),
    negative: range('negative'),
  };
  if (!problems.successAt && !problems.failureBelow && candidate.validation.failureBelow > candidate.validation.successAt) {
    problems.failureBelow = 'at most the success threshold';
  }
  if (Object.keys(problems).length > 0) return { problems };
  const parsed = RewardSettings.safeParse(candidate);
  return parsed.success ? { settings: parsed.data } : { problems: { successAt: parsed.error.issues[0]?.message ?? 'invalid' } };
}

/** The reward table in force (`feedback.rewardSettings`), edited and saved whole (`feedback.setRewardSettings`). */
export function RewardSettingsForm() {
  const [stored, setStored] = useState<RewardSettings | undefined>(undefined);
  const [draft, setDraft] = useState<Draft | undefined>(undefined);
  const [loadError, setLoadError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<SaveResult>(undefined);
  useEffect(() => {
    api.feedback.rewardSettings({}).then(
      (settings) => {
        setStored(settings);
        setDraft(draftOf(settings));
      },
      (error: unknown) => setLoadError(messageOf(error)),
    );
  }, []);

  if (loadError) return <p className="error-text" role="alert">Could not read the reward settings: {loadError}</p>;
  if (!draft || !stored) return <p className="muted">Loading the reward settings…</p>;
  const parsed = parse(draft);
  const problems = 'problems' in parsed ? parsed.problems : {};
  const changed = JSON.stringify(draft) !== JSON.stringify(draftOf(stored));
  const set = (key: FieldKey, value: string) => {
    setDraft({ ...draft, [key]: value });
    setResult(undefined);
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!('settings' in parsed)) return;
    setBusy(true);
    try {
      const saved = await api.feedback.setRewardSettings(parsed.settings);
      setStored(saved);
      setDraft(draftOf(saved));
      setResult({ tone: 'ok', text: 'Saved: events recorded from now on get these rewards.' });
    } catch (error) {
      setResult({ tone: 'error', text: messageOf(error) });
    } finally {
      setBusy(false);
    }
  };
  const input = (key: FieldKey, label: string, bounds: { min: number; max: number; step: number }) => (
    <>
      <input
        type="number"
        {...bounds}
        value={draft[key]}
        onChange={(e) => set(key, e.target.value)}
        aria-label={label}
        aria-invalid={problems[key] !== undefined}
        title={problems[key] ? `${label}: ${problems[key]}` : label}
        data-testid={`reward-${key}`}
      />
      {problems[key] && <span className="error-text small">{problems[key]}</span>}
    </>
  );
  const reward = { min: -1, max: 1, step: 0.05 };
  const score = { min: 0, max: 100, step: 1 };
  return (
    <form className="settings-form" aria-label="Reward settings" noValidate onSubmit={(e) => void submit(e)}>
      <div className="settings-fields">
        <label className="threshold">
          Validation passes at a score of at least
          {input('successAt', 'Validation success threshold (score 0–100)', score)}
        </label>
        <label className="threshold">
          Validation fails below a score of
          {input('failureBelow', 'Validation failure threshold (score 0–100)', score)}
        </label>
      </div>
      <p className="muted small">Between the two thresholds a validation earns 0.</p>
      <table className="reward-table">
        <thead>
          <tr>
            <th>Event</th>
            <th>Weak end</th>
            <th>Strong end</th>
          </tr>
        </thead>
        <tbody>
          {RANGES.map((r) => (
            <tr key={r.key}>
              <th scope="row">
                <span>{r.event}</span>
                <span className="muted small">{r.when}</span>
              </th>
              <td>{input(`${r.key}.weak`, `${r.name}: reward at the weak end`, reward)}</td>
              <td>{input(`${r.key}.strong`, `${r.name}: reward at the strong end`, reward)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="inline">
        <button type="submit" disabled={busy || !changed || !('settings' in parsed)}>
          {busy ? 'Saving…' : 'Save reward settings'}
        </button>
        <button type="button" onClick={() => setDraft(draftOf(DEFAULT_REWARD_SETTINGS))} disabled={JSON.stringify(draft) === JSON.stringify(draftOf(DEFAULT_REWARD_SETTINGS))}>
          Reset to the defaults
        </button>
        <SaveLine result={result} testId="reward-settings-result" />
      </div>
      <p className="muted small">Rewards already recorded keep their value; new ones use the table you save.</p>
    </form>
  );
}
