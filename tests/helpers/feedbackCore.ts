import { join } from 'node:path';
import { openDatabase } from '../../db/connection';
import { createStore } from '../../db/store';
import { ArtifactService } from '../../electron/core/artifacts';
import { FeedbackService } from '../../electron/core/feedback';
import { LearningLoop } from '../../electron/core/learning';
import { ValidationService } from '../../electron/core/validation';
import type { ArtifactKind } from '../../shared/contract/validation';
import type { RewardPolicy } from '../../shared/reward';
import { makeTempDir } from './tempDir';

/** The feedback services over a real SQLite file in a fresh folder, with a clock that ticks 1 s per call. */
export function feedbackCore(options: { policy?: RewardPolicy } = {}) {
  const dir = makeTempDir();
  const store = createStore(openDatabase(join(dir.path, 'architect.db')));
  let tick = Date.parse('2026-01-01T00:00:00.000Z');
  const clock = () => new Date((tick += 1000));
  const learning = new LearningLoop(store, clock);
  const feedback = new FeedbackService({ store, clock, learning, policy: options.policy });
  const validation = new ValidationService();
  const artifacts = new ArtifactService({ store, clock, feedback, learning, validation });
  /** Adds an artifact without validating it; returns its id. */
  const add = async (kind: ArtifactKind = 'flowchart', output = 'flowchart TD\n  A --> B', prompt = 'a prompt') =>
    (await artifacts.add({ kind, prompt, output, validate: false })).artifact.id;
  const count = (table: string) => (store.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  return {
    dir,
    store,
    learning,
    feedback,
    artifacts,
    validation,
    add,
    count,
    async close() {
      await validation.dispose();
      store.db.close();
      dir.remove();
    },
  };
}
