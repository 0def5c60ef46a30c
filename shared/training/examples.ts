import type { ArtifactKind } from '../contract/validation';

/**
 * A training example as the trainer takes it (the guide's JSONL format). Files of any of the three
 * dataset shapes are read by shared/datasets/reader.ts and turned into this by `toPromptCompletion`.
 */
export interface PromptCompletion {
  readonly prompt: string;
  readonly completion: string;
  /** Picks the prompt template the prompt is put in, as generation does; none: the prompt as it is. */
  readonly kind?: ArtifactKind;
}
