import type { LearningSettings } from '../../shared/contract/learning';
import { defineCommand, UsageError } from './command';
import { describeLearning } from './describe';
import { printJson, withCore } from './withCore';

export const learning = defineCommand({
  name: 'learning',
  summary: 'The adaptive-learning loop: show its status, pause or resume batch creation, or change its settings.',
  positionals: { usage: 'status|pause|resume|set', min: 1, max: 1 },
  options: {
    'batch-size': { type: 'string', placeholder: 'N', description: 'set: eligible examples per training batch (default 50)' },
    'min-reward': { type: 'string', placeholder: 'X', description: 'set: reward threshold for training examples (default 0.3)' },
    'auto-trigger': { type: 'string', placeholder: 'on|off', description: 'set: create batches automatically (default on)' },
    json: { type: 'boolean', description: 'print JSON for machines' },
  },
  async run(values, [action]) {
    const patch = settingsPatch(values);
    if (action === 'set' && Object.keys(patch).length === 0) throw new UsageError('set needs --batch-size, --min-reward or --auto-trigger');
    if (action !== 'set' && Object.keys(patch).length > 0) throw new UsageError('--batch-size, --min-reward and --auto-trigger go with set');
    if (!['status', 'pause', 'resume', 'set'].includes(action!)) throw new UsageError(`expected status, pause, resume or set, got '${action}'`);
    return withCore(values['data-dir'], async (core) => {
      const { api } = core.connect();
      const status =
        action === 'pause'
          ? await api.learning.pause({})
          : action === 'resume'
            ? await api.learning.resume({})
            : action === 'set'
              ? await api.learning.updateSettings(patch)
              : await api.learning.status({});
      if (values.json) printJson(status);
      else console.log(describeLearning(status));
      return 0;
    });
  },
});

function settingsPatch(values: Record<string, unknown>): Partial<LearningSettings> {
  const patch: Partial<LearningSettings> = {};
  // Numbers go to the contract as typed; it names the field when one is out of range.
  if (typeof values['batch-size'] === 'string') patch.batchSize = Number(values['batch-size']);
  if (typeof values['min-reward'] === 'string') patch.minRewardThreshold = Number(values['min-reward']);
  const auto = values['auto-trigger'];
  if (typeof auto === 'string') {
    if (auto !== 'on' && auto !== 'off') throw new UsageError(`--auto-trigger must be on or off, got '${auto}'`);
    patch.autoTrigger = auto === 'on';
  }
  return patch;
}
