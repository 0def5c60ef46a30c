import { useState } from 'react';
import type { ReactNode } from 'react';
import { GeneratedKind } from '../../../../shared/contract/generation';
import type { Version } from '../../../../shared/contract/versions';
import { useVersions } from '../../stores/versions';
import { NoticeLine } from '../NoticeLine';
import { ActivatePanel, DeletePanel, ExportPanel, PublishPanel } from './VersionActions';
import type { BaseGroup } from './VersionsSection';
import { STATUS_HELP, STATUS_LABELS, formatLoss3, formatWhen, heldOutLoss, validShareText } from './format';

type Action = 'activate' | 'export' | 'publish' | 'delete';
/** The row whose action panel is open: a version's id, or 'base'. */
type Open = { row: number | 'base'; action: Action } | undefined;

const COLUMNS = 8;

/** One base model's versions, newest first, and its plain base: the figures, the gate's verdict, the actions. */
export function BaseVersions({ group }: { group: BaseGroup }) {
  const [open, setOpen] = useState<Open>();
  const { model } = group;
  const sha = model?.sha256 ?? group.versions[0]?.baseSha256;
  const notice = useVersions((s) => (sha ? s.notices[`group:${sha}`] : undefined));
  const title = model ? `${model.name} · ${model.quant ?? model.fileType} · model ${model.id}` : `${group.name} (no longer installed)`;
  const toggle = (row: number | 'base', action: Action) => setOpen(open?.row === row && open.action === action ? undefined : { row, action });
  return (
    <article className="card base-versions" aria-label={`Versions of ${model ? `${model.name} (model ${model.id})` : group.name}`} data-testid={`base-${group.key}`}>
      <h3>{title}</h3>
      {!model && <p className="muted small">Its versions stay listed, but cannot serve, be exported or be published until the base model is imported again.</p>}
      {model?.missing && <p className="error-text small">The base model’s file is gone from {model.path}: import it again to use its versions.</p>}
      <table className="models-table versions-table">
        <thead>
          <tr>
            <th>Version</th>
            <th>Parent</th>
            <th>Date</th>
            <th title="Training examples, and those held out for validation">Dataset</th>
            <th title="Mean token loss on the held-out examples (lower is better)">Held-out loss</th>
            <th title="Greedy generations on held-out diagram prompts that are valid Mermaid">Valid Mermaid</th>
            <th>Status</th>
            <th>Serves</th>
          </tr>
        </thead>
        {/* One body per version: its figures, the gate's verdict with the actions, and the open action's panel. */}
        {group.versions.map((v) => (
          <VersionRows key={v.id} version={v} installed={model !== undefined && !model.missing} open={open?.row === v.id ? open.action : undefined} onAction={(a) => toggle(v.id, a)}>
            {open?.row === v.id && <PanelRow>{panelFor(open.action, v, () => setOpen(undefined))}</PanelRow>}
          </VersionRows>
        ))}
        {model && (
          <BaseRows group={group} open={open?.row === 'base'} onActivate={() => toggle('base', 'activate')}>
            {open?.row === 'base' && (
              <PanelRow>
                <ActivatePanel model={model} version={null} onDone={() => setOpen(undefined)} />
              </PanelRow>
            )}
          </BaseRows>
        )}
      </table>
      {group.versions.length === 0 && <p className="muted small">No versions yet: a training job on this base writes v1.</p>}
      <NoticeLine notice={notice} testId="group-notice" small />
    </article>
  );
}

function panelFor(action: Action, version: Version, close: () => void): ReactNode {
  switch (action) {
    case 'activate':
      return <ActivatePanel model={undefined} version={version} onDone={close} />;
    case 'export':
      return <ExportPanel version={version} />;
    case 'publish':
      return <PublishPanel version={version} />;
    case 'delete':
      return <DeletePanel version={version} onClose={close} />;
  }
}

function PanelRow({ children }: { children: ReactNode }) {
  return (
    <tr className="panel-row">
      <td colSpan={COLUMNS}>{children}</td>
    </tr>
  );
}

function VersionRows({
  version: v,
  installed,
  open,
  onAction,
  children,
}: {
  version: Version;
  installed: boolean;
  open: Action | undefined;
  onAction: (action: Action) => void;
  children: ReactNode;
}) {
  const notice = useVersions((s) => s.notices[`version:${v.id}`]);
  const usable = installed && !v.damaged;
  const why = v.damaged ? `v${v.number} is damaged: ${v.damaged}` : installed ? undefined : 'Its base model is not installed.';
  const button = (action: Action, text: string, enabled = true) => (
    <button
      className={`small${open === action ? ' pressed' : ''}${action === 'delete' ? ' danger' : ''}`}
      onClick={() => onAction(action)}
      disabled={!enabled}
      aria-expanded={open === action}
      aria-label={`${text.replace('…', '')} v${v.number}`}
      title={enabled ? undefined : why}
    >
      {text}
    </button>
  );
  const gate = v.gate;
  return (
    <tbody data-testid={`version-row-${v.id}`} className={`version ${v.status}${v.damaged ? ' damaged' : ''}`}>
      <tr className="version-row">
        <td className="nowrap">
          <strong>v{v.number}</strong> <span className="muted small">{v.jobType}</span>
          {v.damaged && (
            <span className="badge danger" title={v.damaged} data-testid="version-damaged">
              damaged
            </span>
          )}
        </td>
        <td className="nowrap">{v.parent === null ? 'base' : `v${v.parent}`}</td>
        <td className="nowrap muted small">{formatWhen(v.createdAt)}</td>
        <td className="nowrap" title={`${v.dataset.examples} training examples, ${v.dataset.validation} held out`}>
          {v.dataset.examples.toLocaleString()} <span className="muted small">/ {v.dataset.validation.toLocaleString()} held out</span>
        </td>
        <td className="nowrap num" data-testid="version-loss">
          {formatLoss3(heldOutLoss(v))}
        </td>
        <td className="nowrap num" data-testid="version-valid">
          {validShareText(gate?.candidate)}
        </td>
        <td>
          <span className={`version-status ${v.status}`} title={STATUS_HELP[v.status]} data-testid="version-status">
            {STATUS_LABELS[v.status]}
          </span>
        </td>
        <td data-testid="version-serves">{servesText(v.activeFor)}</td>
      </tr>
      <tr className="gate-row" data-testid={`version-gate-${v.id}`}>
        <td colSpan={COLUMNS}>
          <div className="gate-line">
            <div className="gate-text">
              {v.damaged ? (
                <span className="error-text small">Damaged: {v.damaged}. It cannot serve; roll back to another version, or train again.</span>
              ) : gate ? (
                <span className={`small ${gate.passed ? '' : 'gate-failed'}`} title={`The gate's rule: ${gate.rule}`}>
                  <span className="muted">Gate ({gate.passed ? 'passed' : 'not passed'}):</span> {gate.summary}
                </span>
              ) : (
                <span className="muted small">Not evaluated by the gate (no held-out examples of its kinds): activate it if you trust it.</span>
              )}
              <NoticeLine notice={notice} testId={`version-notice-${v.id}`} small />
            </div>
            <div className="inline row-actions">
              {button('activate', 'Activate…', usable)}
              {button('export', 'Export…', usable)}
              {button('publish', 'Publish…', usable)}
              {button('delete', 'Delete')}
            </div>
          </div>
        </td>
      </tr>
      {children}
    </tbody>
  );
}

/** The kinds a version (or base) serves: "erd, code", "every kind", or a dash. */
function servesText(kinds: readonly string[]): ReactNode {
  if (kinds.length === 0) return <span className="muted">—</span>;
  return kinds.length === GeneratedKind.options.length ? 'every kind' : kinds.join(', ');
}

/** The plain base, which can serve like a version (the starting point, and the last resort of a rollback). */
function BaseRows({ group, open, onActivate, children }: { group: BaseGroup; open: boolean; onActivate: () => void; children: ReactNode }) {
  const { active, notices } = useVersions();
  const model = group.model!;
  const serves = active.filter((a) => a.version === null && a.modelId === model.id).map((a) => a.kind);
  const notice = notices[`base:${model.id}`];
  return (
    <tbody data-testid={`base-row-${model.id}`} className="version base">
      <tr className="version-row">
        <td className="nowrap">
          <strong>plain base</strong>
        </td>
        <td>—</td>
        <td className="nowrap muted small">{formatWhen(model.createdAt)}</td>
        <td>—</td>
        <td className="num">—</td>
        <td className="num">—</td>
        <td>
          <span className="version-status base">base</span>
        </td>
        <td data-testid="version-serves">{servesText(serves)}</td>
      </tr>
      <tr className="gate-row base">
        <td colSpan={COLUMNS}>
          <div className="gate-line">
            <div className="gate-text">
              <span className="muted small">The model as it was installed, with no adapter.</span>
              <NoticeLine notice={notice} testId={`base-notice-${model.id}`} small />
            </div>
            <div className="inline row-actions">
              <button className={`small${open ? ' pressed' : ''}`} onClick={onActivate} aria-expanded={open} disabled={model.missing} aria-label={`Activate the plain base of ${model.name}`}>
                Activate…
              </button>
            </div>
          </div>
        </td>
      </tr>
      {children}
    </tbody>
  );
}
