import { useEffect } from 'react';
import type { InstalledModel } from '../../../../shared/contract/models';
import type { Version } from '../../../../shared/contract/versions';
import { useModels } from '../../stores/models';
import { gatedText, useVersions } from '../../stores/versions';
import { ComparePanel } from './ComparePanel';
import { ServingStrip } from './ServingStrip';
import { BaseVersions } from './VersionTable';
import '../../versions.css';

/** A base the registry knows: an installed model, or one deleted since (its versions stay, but cannot serve). */
export interface BaseGroup {
  readonly key: string;
  readonly model: InstalledModel | undefined;
  readonly name: string;
  readonly versions: Version[];
}

/** Every installed model (with or without versions), then the versions whose base was deleted, grouped by its hash. */
export function groupByBase(models: readonly InstalledModel[], versions: readonly Version[]): BaseGroup[] {
  const newestFirst = (list: Version[]) => list.sort((a, b) => b.number - a.number);
  const groups: BaseGroup[] = models.map((m) => ({ key: `model-${m.id}`, model: m, name: m.name, versions: newestFirst(versions.filter((v) => v.modelId === m.id)) }));
  const orphans = versions.filter((v) => v.modelId === null || !models.some((m) => m.id === v.modelId));
  for (const sha of [...new Set(orphans.map((v) => v.baseSha256))]) {
    const list = orphans.filter((v) => v.baseSha256 === sha);
    groups.push({ key: `sha-${sha}`, model: undefined, name: list[0]!.baseName, versions: newestFirst(list) });
  }
  return groups;
}

/** The Models page's versions: what serves each kind, each base's versions with their actions, the gate's news, and Compare. */
export function VersionsSection() {
  const { versions, loaded, error, load } = useVersions();
  const models = useModels((s) => s.models);
  // The installed list changed (the page's Refresh, an import, a delete): the registry's view of it follows.
  useEffect(() => {
    void load();
  }, [load, models]);

  const groups = groupByBase(models, versions);
  return (
    <section className="versions" aria-label="Versions">
      <h2 className="section-title">Versions</h2>
      <GatedNotices />
      {error && (
        <p className="error-text" role="alert">
          Could not list the versions: {error}
        </p>
      )}
      {!loaded && !error && <p className="muted">Loading the versions…</p>}
      {loaded && (
        <>
          <ServingStrip />
          {groups.length === 0 && <p className="muted">No model is installed: install one above, then train it to write v1.</p>}
          {groups.map((g) => (
            <BaseVersions key={g.key} group={g} />
          ))}
          {versions.length > 0 && <ComparePanel groups={groups.filter((g) => g.model && g.versions.length > 0)} />}
        </>
      )}
    </section>
  );
}

/** The gate's verdicts on versions written while the page was open: in words and numbers, and what came of them. */
function GatedNotices() {
  const { gated, versions, dismissGated } = useVersions();
  if (gated.length === 0) return null;
  return (
    <div className="gated-notices">
      {gated.map((g) => (
        <div
          key={g.versionId}
          className={`banner ${g.gate.passed ? 'notice' : 'warn'} gated`}
          role="status"
          data-testid={`gated-${g.versionId}`}
          title={`The gate's rule: ${g.gate.rule}`}
        >
          <span>
            <strong>
              New version v{g.number} of {g.baseName} ({g.jobType} job):
            </strong>{' '}
            {gatedText(
              g,
              versions.find((v) => v.id === g.versionId),
            )}
          </span>
          <button className="link" onClick={() => dismissGated(g.versionId)} aria-label={`Dismiss the notice about v${g.number}`}>
            Dismiss
          </button>
        </div>
      ))}
    </div>
  );
}
