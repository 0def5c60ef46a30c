import { defineCommand } from './command';
import { describeStats } from './describe';
import { printJson, withCore } from './withCore';

export const stats = defineCommand({
  name: 'stats',
  summary: 'Feedback totals, average reward, reward histogram, counts by type and kind, and progress to the next training batch.',
  options: {
    json: { type: 'boolean', description: 'print JSON for machines' },
  },
  async run(values) {
    return withCore(values['data-dir'], async (core) => {
      const result = await core.connect().api.learning.stats({});
      if (values.json) printJson(result);
      else console.log(describeStats(result));
      return 0;
    });
  },
});
