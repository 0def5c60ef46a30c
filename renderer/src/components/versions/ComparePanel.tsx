import { useEffect, useState } from 'react';
import type { FormEvent } from 'react';
import { GeneratedKind } from '../../../../shared/contract/generation';
import type { GenerationSettings } from '../../../../shared/contract/generation';
import { api } from '../../api/client';
import { KIND_LABELS, ScoreBadge, ValidationReasons } from '../feedback';
import { useVersions } from '../../stores/versions';
import type { BaseGroup } from './VersionsSection';
import '../../feedback.css';

type Side = 'base' | `${number}`;

const sideLabel = (group: BaseGroup, side: Side) => (side === 'base' ? 'the plain base' : `v${group.versions.find((v) => String(v.id) === side)?.number ?? '?'}`);

/** Two versions (or a version and the plain base) of one base on one prompt, side by side with their validation; nothing is stored. */
export function ComparePanel({ groups }: { groups: BaseGroup[] }) {
  const { compare, runCompare } = useVersions();
  const [groupKey, setGroupKey] = useState(groups[0]?.key ?? '');
  const group = groups.find((g) => g.key === groupKey) ?? groups[0];
  const [a, setA] = useState<Side | undefined>();
  const [b, setB] = useState<Side | undefined>();
  const [kind, setKind] = useState<GeneratedKind | undefined>();
  const [prompt, setPrompt] = useState('');
  const [settings, setSettings] = useState<GenerationSettings | undefined>();
  useEffect(() => {
    api.generation.settings({}).then(setSettings, () => setSettings(undefined));
  }, []);
  if (!group) return null;

  // Defaults: the newest version against the one before it (or the plain base), on the newest's first kind.
  const sideA: Side = a ?? (group.versions[1] ? `${group.versions[1].id}` : 'base');
  const sideB: Side = b ?? `${group.versions[0]!.id}`;
  const chosenKind = kind ?? group.versions[0]!.kinds[0] ?? 'erd';
  const same = sideA === sideB;
  const ready = !same && prompt.trim() !== '' && !compare.running;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!ready) return;
    void runCompare(
      { kind: chosenKind, requirements: prompt, a: sideA === 'base' ? null : Number(sideA), b: sideB === 'base' ? null : Number(sideB), modelId: group.model!.id },
      [sideLabel(group, sideA), sideLabel(group, sideB)],
    );
  };
  const sideOptions = (
    <>
      {group.versions.map((v) => (
        <option key={v.id} value={String(v.id)} disabled={v.damaged !== null}>
          v{v.number} ({v.damaged ? 'damaged' : v.status})
        </option>
      ))}
      <option value="base">the plain base</option>
    </>
  );
  const result = compare.result;
  return (
    <article className="card compare" aria-label="Compare">
      <h2>Compare</h2>
      <form className="compare-form" aria-label="Compare two versions" onSubmit={submit}>
        <div className="compare-choices">
          <label>
            Base model
            <select
              value={group.key}
              onChange={(e) => {
                setGroupKey(e.target.value);
                setA(undefined);
                setB(undefined);
              }}
              disabled={compare.running}
            >
              {groups.map((g) => (
                <option key={g.key} value={g.key}>
                  {g.name} (model {g.model!.id})
                </option>
              ))}
            </select>
          </label>
          <label>
            Left
            <select value={sideA} onChange={(e) => setA(e.target.value as Side)} disabled={compare.running}>
              {sideOptions}
            </select>
          </label>
          <label>
            Right
            <select value={sideB} onChange={(e) => setB(e.target.value as Side)} disabled={compare.running}>
              {sideOptions}
            </select>
          </label>
          <label>
            Kind
            <select value={chosenKind} onChange={(e) => setKind(e.target.value as GeneratedKind)} disabled={compare.running}>
              {GeneratedKind.options.map((k) => (
                <option key={k} value={k}>
                  {KIND_LABELS[k]}
                </option>
              ))}
            </select>
          </label>
        </div>
        <label>
          Prompt (requirements)
          <textarea value={prompt} onChange={(e) => setPrompt(e.target.value)} rows={3} disabled={compare.running} placeholder="Customers place orders; each order has line items." />
        </label>
        <p className="muted small">
          Both sides write one after the other with the same seed and the saved sampling defaults
          {settings ? ` (temperature ${settings.sampling.temperature}, at most ${settings.sampling.maxTokens.toLocaleString()} tokens)` : ''}, set on the Generate page.
          Nothing is stored.
        </p>
        <div className="inline">
          <button type="submit" className="primary" disabled={!ready}>
            {compare.running ? 'Comparing…' : 'Compare'}
          </button>
          {same && <span className="muted small">Pick two different sides.</span>}
          {!same && prompt.trim() === '' && !compare.running && <span className="muted small">Type a prompt to compare on.</span>}
        </div>
      </form>
      {compare.running && (
        <div className="operation" role="status" data-testid="compare-running">
          <div className="meter operation-meter" role="progressbar" aria-label="Compare progress" aria-valuetext="generating">
            <div className="indeterminate" style={{ width: '100%' }} />
          </div>
          <p className="muted small">
            Generating with {compare.labels?.[0]}, then with {compare.labels?.[1]}, on the same seed…
          </p>
        </div>
      )}
      {compare.error && (
        <p className="error-text" role="alert" data-testid="compare-error">
          {compare.error}
        </p>
      )}
      {result && (
        <>
          <p className="muted small" data-testid="compare-seed">
            Both sides used seed {result.seed}.
          </p>
          <div className="compare-sides">
            {[result.a, result.b].map((side, i) => (
              <article key={i} className="compare-side" aria-label={`Output of ${side.label}`} data-testid={`compare-${i === 0 ? 'a' : 'b'}`}>
                <header className="compare-side-head">
                  <h3>{side.label === 'base' ? 'plain base' : side.label}</h3>
                  {side.validation ? <ScoreBadge score={side.validation.score} /> : <span className="muted small">not validated (empty output)</span>}
                  <span className="muted small">{side.tokensPerSecond.toFixed(1)} tokens/s</span>
                </header>
                <pre className="compare-output" data-testid="compare-output">
                  {side.text || '(empty)'}
                </pre>
                {side.validation && (
                  <>
                    <ValidationReasons reasons={side.validation.reasons} />
                    <p className="muted small">Checked by {side.validation.validator}.</p>
                  </>
                )}
              </article>
            ))}
          </div>
        </>
      )}
    </article>
  );
}
