import { formatReward } from '../../shared/reward';
import { defineCommand, UsageError } from './command';
import { describeArtifact } from './describe';
import { positiveInt, printJson, textFrom, withCore } from './withCore';

export const artifact = defineCommand({
  name: 'artifact',
  summary: 'Add an artifact (kind, prompt and generated output; it is validated at once), or show one with its feedback.',
  positionals: { usage: 'add | show ID', min: 1, max: 2 },
  options: {
    kind: { type: 'string', placeholder: 'K', description: 'add: erd, flowchart, sequence, api-doc, code or other' },
    prompt: { type: 'string', placeholder: 'TEXT', description: 'add: the requirements or prompt' },
    output: { type: 'string', placeholder: 'TEXT', description: 'add: the generated text' },
    'output-file': { type: 'string', placeholder: 'FILE', description: 'add: read the generated text from FILE' },
    language: { type: 'string', placeholder: 'LANG', description: 'add: the language of code (typescript, python, …)' },
    json: { type: 'boolean', description: 'print JSON for machines' },
  },
  async run(values, [action, id]) {
    if (action === 'show') {
      const artifactId = positiveInt(id, 'ID');
      return withCore(values['data-dir'], async (core) => {
        const detail = await core.connect().api.artifacts.get({ id: artifactId });
        if (values.json) printJson(detail);
        else console.log(describeArtifact(detail));
        return 0;
      });
    }
    if (action !== 'add') throw new UsageError(`expected 'add' or 'show ID', got '${action}'`);
    if (id !== undefined) throw new UsageError(`unexpected argument '${id}'`);
    if (values.kind === undefined) throw new UsageError('give --kind K');
    if (values.prompt === undefined) throw new UsageError('give --prompt TEXT');
    const output = textFrom(values, 'output', 'output-file');
    return withCore(values['data-dir'], async (core) => {
      const result = await core.connect().api.artifacts.add({
        kind: values.kind as never, // checked by the contract, which names the field when it is wrong
        prompt: values.prompt!,
        output,
        ...(values.language ? { language: values.language } : {}),
      });
      if (values.json) return printJson(result), 0;
      console.log(result.artifact.id);
      const validation = result.artifact.events.find((e) => e.type === 'validation');
      if (validation) console.error(`Added artifact ${result.artifact.id} (${result.artifact.kind}); validation ${validation.score}/100, reward ${formatReward(validation.reward)}.`);
      else console.error(`Added artifact ${result.artifact.id} (${result.artifact.kind})${result.validationError ? `; not validated: ${result.validationError}` : '.'}`);
      return 0;
    });
  },
});
