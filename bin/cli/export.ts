import { resolve } from 'node:path';
import { exportExamples, exportFeedbackEvents, writeFileAtomically } from '../../electron/core/feedbackExport';
import type { LineSink } from '../../electron/core/feedbackExport';
import { defineCommand, UsageError } from './command';
import { withCore } from './withCore';

export const exportCommand = defineCommand({
  name: 'export',
  summary: 'Export feedback events (feedback_events.jsonl, the guide\'s shape) or eligible training examples (prompt/completion JSONL).',
  positionals: { usage: 'feedback|examples', min: 1, max: 1 },
  options: {
    out: { type: 'string', placeholder: 'FILE', description: 'write to FILE (whole or not at all) instead of standard output' },
  },
  async run(values, [what]) {
    if (what !== 'feedback' && what !== 'examples') throw new UsageError(`expected feedback or examples, got '${what}'`);
    return withCore(values['data-dir'], async (core) => {
      const { store, learning } = core.services;
      const produce = (sink: LineSink) =>
        what === 'feedback' ? exportFeedbackEvents(store, sink) : exportExamples(store, learning.state().minRewardThreshold, sink);
      if (values.out === undefined) {
        produce((chunk) => void process.stdout.write(chunk));
        return 0;
      }
      const file = resolve(values.out);
      const count = writeFileAtomically(file, produce);
      console.error(`Wrote ${count} ${what === 'feedback' ? 'feedback events' : 'training examples'} to ${file}`);
      return 0;
    });
  },
});
