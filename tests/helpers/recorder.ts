// A child process that records feedback through the real services, for the crash and concurrency tests.
// Usage: node recorder.mjs DB_FILE MODE COUNT [ARTIFACT_IDS_JSON]
//   MODE 'new':    COUNT times: add an artifact, record 👍 on it.
//   MODE 'shared': record 👍 on each of ARTIFACT_IDS, COUNT rounds.
// Prints "event <id> <batches created>" after each record call returns, then "done".
import { openDatabase } from '../../db/connection';
import { createStore } from '../../db/store';
import { FeedbackService } from '../../electron/core/feedback';
import { LearningLoop } from '../../electron/core/learning';

const [file, mode, countText, idsJson] = process.argv.slice(2);
const store = createStore(openDatabase(file!));
const clock = () => new Date();
const learning = new LearningLoop(store, clock);
const feedback = new FeedbackService({ store, clock, learning });
const count = Number(countText);

function addArtifact(i: number): number {
  return store.artifacts.insert({
    kind: 'flowchart',
    prompt: `process ${process.pid} artifact ${i}`,
    output: `flowchart TD\n  A${i} --> B${i}`,
    language: null,
    model: '',
    modelVersion: '',
    createdAt: clock().toISOString(),
  });
}

const ids: number[] = idsJson ? (JSON.parse(idsJson) as number[]) : [];
for (let i = 0; i < count; i++) {
  const targets = mode === 'new' ? [addArtifact(i)] : ids;
  for (const artifactId of targets) {
    const result = feedback.record({ artifactId, type: 'explicit_positive' });
    process.stdout.write(`event ${result.event.id} ${result.batches.length}\n`);
  }
}
store.db.close();
process.stdout.write('done\n');
