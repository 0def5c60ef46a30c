import type { GeneratedKind } from '../../../../shared/contract/generation';
import type { InstalledModel } from '../../../../shared/contract/models';
import type { ActiveChoice, GateMetrics, Version, VersionStatus } from '../../../../shared/contract/versions';

export const STATUS_LABELS: Record<VersionStatus, string> = {
  active: 'active',
  candidate: 'candidate',
  rejected: 'rejected',
  archived: 'archived',
};

export const STATUS_HELP: Record<VersionStatus, string> = {
  active: 'It serves at least one kind now.',
  candidate: 'Trained and kept; it serves nothing until it is activated.',
  rejected: 'The gate found it no better than what it would replace; it serves nothing.',
  archived: 'It served once and no longer does.',
};

/** A timestamp as local "2026-05-04 14:03". */
export function formatWhen(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** The held-out loss the gate measured, else the one training reported. */
export function heldOutLoss(version: Version): number | null {
  return version.gate?.candidate.validationLoss ?? version.metrics.validationLoss;
}

export const formatLoss3 = (loss: number | null) => (loss === null || !Number.isFinite(loss) ? '—' : loss.toFixed(3));

/** "7/8 (88%)" of the gate's held-out diagram prompts that came out as valid Mermaid; "—" without prompts. */
export function validShareText(metrics: GateMetrics | undefined): string {
  if (!metrics || metrics.validShare === null || metrics.prompts === 0) return '—';
  const valid = Math.round(metrics.validShare * metrics.prompts);
  return `${valid}/${metrics.prompts} (${Math.round(metrics.validShare * 100)}%)`;
}

/**
 * "v1 of tiny-llama" or "the plain base of tiny-llama"; with the model's id when another installed model has the
 * same name (two files of one model), so the two can be told apart.
 */
export function choiceText(choice: Pick<ActiveChoice, 'version' | 'modelName' | 'modelId'>, models: readonly Pick<InstalledModel, 'id' | 'name'>[] = []): string {
  const twin = models.some((m) => m.name === choice.modelName && m.id !== choice.modelId);
  const name = twin ? `${choice.modelName} (model ${choice.modelId})` : choice.modelName;
  return choice.version ? `v${choice.version.number} of ${name}` : `the plain base of ${name}`;
}

/** The data folder, from the models folder (`<data>/models`) the models list reports. */
export function dataFolderOf(modelsFolder: string): string {
  return modelsFolder.replace(/[\\/]+$/, '').replace(/[\\/]models$/, '');
}

const separatorOf = (path: string) => (path.includes('\\') && !path.includes('/') ? '\\' : '/');

/** `<data>/exports/<base>-v<N>[-merged].gguf`: where an export goes unless the user types another path. */
export function defaultExportPath(modelsFolder: string, version: Pick<Version, 'baseName' | 'number'>, merged: boolean): string {
  const data = dataFolderOf(modelsFolder);
  const slug = version.baseName.toLowerCase().replace(/[^a-z0-9.]+/g, '-').replace(/^-+|-+$/g, '') || 'model';
  const sep = separatorOf(data);
  return `${data}${sep}exports${sep}${slug}-v${version.number}${merged ? '-merged' : ''}.gguf`;
}

/** The name the server publishes under by default: architect-<kind>:v<N>. */
export const defaultPublishName = (version: Pick<Version, 'kinds' | 'number'>) => `architect-${version.kinds[0] ?? 'model'}:v${version.number}`;

/**
 * What serves a kind: the registry's choice, else the plain base of the first trainable installed model (else the
 * first installed one), which generation falls back to when nothing was chosen for the kind nor as the default.
 * (`versions.list` leaves such kinds out of `active` once any kind has a choice of its own.)
 */
export function servingOf(kind: GeneratedKind, active: readonly ActiveChoice[], models: readonly InstalledModel[]): ActiveChoice | undefined {
  const chosen = active.find((a) => a.kind === kind);
  if (chosen) return chosen;
  const fallback = models.find((m) => m.trainable && !m.missing) ?? models.find((m) => !m.missing);
  return fallback && { kind, modelId: fallback.id, modelName: fallback.name, version: null, inherited: true, since: fallback.createdAt };
}
