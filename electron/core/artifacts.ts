import type { Store } from '../../db/store';
import { AddArtifactArgs, ListArtifactsArgs } from '../../shared/contract/artifacts';
import type { AddArtifactResult, ArtifactDetail, ArtifactSummary, GenerationRecord } from '../../shared/contract/artifacts';
import type { RecordResult } from '../../shared/contract/feedback';
import { isEligible } from '../../shared/example';
import { AppError } from '../../shared/errors';
import type { Clock } from './clock';
import type { FeedbackService } from './feedback';
import type { LearningLoop } from './learning';
import { parseInput } from './parseArgs';
import { ValidationService } from './validation';

export interface ArtifactServiceDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly feedback: FeedbackService;
  readonly learning: LearningLoop;
  readonly validation: ValidationService;
}

/** Stores artifacts, validates them on arrival, and reads them back with their feedback. */
export class ArtifactService {
  constructor(private readonly deps: ArtifactServiceDeps) {}

  /**
   * Validates an artifact's output (unless told not to), then stores the artifact, how it was generated and
   * its validation event in one transaction: a process killed at any point leaves a validated artifact or
   * none. When validation cannot run, the artifact is stored without it and the reason is returned.
   */
  async add(input: AddArtifactArgs, generation?: GenerationRecord): Promise<AddArtifactResult> {
    const args = parseInput(AddArtifactArgs, input);
    const { store, feedback } = this.deps;
    let validation: Awaited<ReturnType<ValidationService['check']>> | undefined;
    let validationError: string | null = null;
    if (args.validate && ValidationService.supports(args.kind)) {
      // Nothing is stored yet: validation (a worker, up to seconds on first use) runs outside the transaction.
      validation = await this.deps.validation.check({ kind: args.kind, text: args.output, language: args.language ?? null }).catch((error: unknown) => {
        validationError = error instanceof Error ? error.message : String(error);
        return undefined;
      });
    }
    const { id, recorded } = store.db.transaction(() => {
      const id = store.artifacts.insert({
        kind: args.kind,
        prompt: args.prompt,
        output: args.output,
        language: args.language ?? null,
        model: args.model,
        modelVersion: args.modelVersion,
        createdAt: this.deps.clock().toISOString(),
      });
      if (generation) store.generations.insert(id, generation);
      const recorded = validation
        ? feedback.recordInTransaction({ artifactId: id, type: 'validation', score: validation.score, reasons: validation.reasons, validator: validation.validator })
        : undefined;
      return { id, recorded };
    }).immediate();
    if (recorded) feedback.announce(recorded);
    return { artifact: this.get(id), validationError };
  }

  /** Validates an artifact's training target (its correction, else its output) and records the result as a feedback event. */
  async validate(artifactId: number): Promise<RecordResult> {
    const artifact = this.deps.store.artifacts.get(artifactId);
    if (!artifact) throw new AppError('not_found', `There is no artifact ${artifactId}.`, { field: 'args.artifactId' });
    if (!ValidationService.supports(artifact.kind)) {
      throw new AppError('invalid_arguments', `Artifact ${artifactId} is of kind "other", which has no validator.`, { field: 'args.artifactId' });
    }
    // The text that is the training target now: the latest correction, else the generated output.
    const text = this.deps.store.events.latestCorrection(artifactId)?.text ?? artifact.output;
    const result = await this.deps.validation.check({ kind: artifact.kind, text, language: artifact.language });
    return this.deps.feedback.record({
      artifactId,
      type: 'validation',
      score: result.score,
      reasons: result.reasons,
      validator: result.validator,
    });
  }

  get(id: number): ArtifactDetail {
    const { store } = this.deps;
    return store.db.transaction(() => {
      const artifact = store.artifacts.get(id);
      if (!artifact) throw new AppError('not_found', `There is no artifact ${id}.`, { field: 'args.id' });
      const correction = store.events.latestCorrection(id);
      const generation = store.generations.get(id);
      const threshold = this.deps.learning.state().minRewardThreshold;
      return {
        ...artifact,
        generation,
        events: store.events.forArtifact(id),
        correction: correction && { eventId: correction.id, text: correction.text, similarity: correction.similarity },
        example: this.deps.feedback.example(id, threshold),
      };
    })();
  }

  list(input: ListArtifactsArgs = {}): { total: number; items: ArtifactSummary[] } {
    const query = parseInput(ListArtifactsArgs, input);
    const { store } = this.deps;
    return store.db.transaction(() => {
      const { total, rows } = store.artifacts.list({ ...query, kind: query.kind });
      const events = store.events.forArtifacts(rows.map((r) => r.id));
      const threshold = this.deps.learning.state().minRewardThreshold;
      const items = rows.map((row) => ({
        ...row,
        events: events.get(row.id) ?? [],
        eligible: row.reward !== null && isEligible(row.reward, threshold),
      }));
      return { total, items };
    })();
  }
}
