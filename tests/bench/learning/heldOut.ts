// Held-out measurement for the learning bench: greedy answers of what serves ERDs now on prompts the loop never
// trains on. They go through the generation service's unstored path (the one versions.compare uses), so no
// artifact, validation event or training example comes of them.
import type { Core } from '../../../electron/core/services';
import type { ErdTask } from './task';
import { isValid } from './user';
import type { Api } from './user';

export interface HeldOutReport {
  /** Share (0–1) of answers that are valid Mermaid (the gate's count). */
  readonly validShare: number;
  /** Mean validation score (0–100); an empty answer scores 0. */
  readonly meanScore: number;
  /** The version that answered; null: the plain base. */
  readonly version: number | null;
}

/** Answers every held-out prompt with what serves `erd` now (generation settings' sampling: set greedy). */
export async function measureHeldOut(core: Core, api: Api, tasks: readonly ErdTask[], maxTokens: number): Promise<HeldOutReport> {
  const serving = (await api.versions.list({})).active.find((a) => a.kind === 'erd');
  if (!serving) throw new Error('nothing serves ERDs: no model is installed');
  let valid = 0;
  let score = 0;
  for (const task of tasks) {
    const draft = await core.services.generation.draft({ kind: 'erd', requirements: task.requirements, modelId: serving.modelId, versionId: serving.version?.id ?? null, seed: 1, maxTokens });
    if (isValid(draft.validation)) valid++;
    score += draft.validation?.score ?? 0;
  }
  return { validShare: valid / tasks.length, meanScore: score / tasks.length, version: serving.version?.number ?? null };
}
