import { useState } from 'react';
import { GeneratedKind } from '../../../../shared/contract/generation';
import type { ActiveChoice } from '../../../../shared/contract/versions';
import { KIND_LABELS } from '../feedback';
import { useModels } from '../../stores/models';
import { lastChange, previousLabel, useVersions } from '../../stores/versions';
import { choiceText, formatWhen, servingOf } from './format';

/** What serves each kind now, with Rollback (to the previous choice, an earlier version or the plain base) and Undo. */
export function ServingStrip() {
  const active = useVersions((s) => s.active);
  const models = useModels((s) => s.models);
  return (
    <article className="card serving" aria-label="Serving">
      <h2>Serving</h2>
      <p className="muted small">What the Generate page’s “What serves this kind” uses for each kind. A kind with no choice of its own follows the default.</p>
      {active.length === 0 && !models.some((m) => !m.missing) ? (
        <p className="muted">Nothing serves yet: install a model.</p>
      ) : (
        <table className="models-table serving-table">
          <thead>
            <tr>
              <th>Kind</th>
              <th>Served by</th>
              <th>
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {GeneratedKind.options.map((kind) => {
              const choice = servingOf(kind, active, models);
              return choice ? <ServingRow key={kind} kind={kind} choice={choice} /> : null;
            })}
          </tbody>
        </table>
      )}
    </article>
  );
}

function ServingRow({ kind, choice }: { kind: GeneratedKind; choice: ActiveChoice }) {
  const { versions, history, busy, notices, rollback, undo } = useVersions();
  const models = useModels((s) => s.models);
  const [to, setTo] = useState('');
  const key = `kind:${kind}`;
  const working = busy.includes(key);
  const last = lastChange(kind, history);
  // Other intact versions of the same base, and the plain base when a version serves now.
  const targets = versions
    .filter((v) => v.modelId === choice.modelId && v.id !== choice.version?.id && !v.damaged)
    .sort((a, b) => b.number - a.number);
  const nothingChosen = choice.inherited && choice.version === null && !history.some((a) => a.kind === kind || a.kind === '*');
  const notice = notices[key];
  const label = KIND_LABELS[kind];
  return (
    <>
      <tr data-testid={`serving-${kind}`}>
        <td className="nowrap">{label}</td>
        <td>
          <div data-testid="serving-what">
            {choiceText(choice, models)}
            {choice.inherited && <span className="muted small"> (the default)</span>}
          </div>
          <div className="muted small">
            since {formatWhen(choice.since)}
            {last && (
              <>
                {' · last change: '}
                <span data-testid="serving-last">
                  {last.note} ({last.reason}, {formatWhen(last.at)})
                </span>
              </>
            )}
          </div>
        </td>
        <td>
          <div className="inline serving-actions">
            <select value={to} onChange={(e) => setTo(e.target.value)} aria-label={`Roll ${label} back to`} disabled={working || nothingChosen}>
              <option value="">previous: {previousLabel(kind, history, choice)}</option>
              {targets.map((v) => (
                <option key={v.id} value={String(v.id)}>
                  v{v.number} ({v.status})
                </option>
              ))}
              {choice.version !== null && <option value="base">the plain base</option>}
            </select>
            <button
              onClick={() => void rollback(kind, to === '' ? undefined : to === 'base' ? 'base' : Number(to)).then((ok) => ok && setTo(''))}
              disabled={working || nothingChosen}
              title={nothingChosen ? `Nothing was chosen for ${label} yet: activate a version first.` : undefined}
              aria-label={`Roll back ${label}`}
            >
              Roll back
            </button>
            <button onClick={() => void undo(kind)} disabled={working || !last} title={last ? `Take back: ${last.note}` : `There is no change of ${label} to undo.`} aria-label={`Undo the last change of ${label}`}>
              Undo
            </button>
          </div>
        </td>
      </tr>
      {notice && (
        <tr className="notice-row">
          <td colSpan={3}>
            <p className={notice.tone === 'error' ? 'error-text small' : 'ok-text small'} role={notice.tone === 'error' ? 'alert' : 'status'} data-testid={`serving-notice-${kind}`}>
              {notice.text}
            </p>
          </td>
        </tr>
      )}
    </>
  );
}
