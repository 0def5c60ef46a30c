import type { RecordResult } from '../../shared/contract/feedback';
import { defineCommand, UsageError } from './command';
import { describeRecord } from './describe';
import { positiveInt, printJson, textFrom, withCore } from './withCore';

export const feedback = defineCommand({
  name: 'feedback',
  summary: 'Record feedback on an artifact: 👍 (up), 👎 (down), a correction, or a fresh validation. Prints the event and its reward.',
  positionals: { usage: 'ID up|down|correct|validate', min: 2, max: 2 },
  options: {
    text: { type: 'string', placeholder: 'TEXT', description: 'correct: the corrected text' },
    file: { type: 'string', placeholder: 'FILE', description: 'correct: read the corrected text from FILE' },
    json: { type: 'boolean', description: 'print JSON for machines' },
  },
  async run(values, [id, action]) {
    const artifactId = positiveInt(id, 'ID');
    if (!['up', 'down', 'correct', 'validate'].includes(action!)) throw new UsageError(`expected up, down, correct or validate, got '${action}'`);
    if (action !== 'correct' && (values.text !== undefined || values.file !== undefined)) throw new UsageError('--text and --file go with correct');
    const text = action === 'correct' ? textFrom(values, 'text', 'file') : '';
    return withCore(values['data-dir'], async (core) => {
      const { api } = core.connect();
      let result: RecordResult;
      if (action === 'up') result = await api.feedback.record({ artifactId, type: 'explicit_positive' });
      else if (action === 'down') result = await api.feedback.record({ artifactId, type: 'explicit_negative' });
      else if (action === 'correct') result = await api.feedback.record({ artifactId, type: 'correction', text });
      else result = await api.feedback.validate({ artifactId });
      if (values.json) printJson(result);
      else console.log(describeRecord(result));
      return 0;
    });
  },
});
