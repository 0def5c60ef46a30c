import { defineCommand, UsageError } from './command';
import { describeValidation } from './describe';
import { printJson, textFrom, withCore } from './withCore';

export const validate = defineCommand({
  name: 'validate',
  summary: 'Validate a text as an artifact (Mermaid ERD/flowchart/sequence, API doc, code): score 0–100 with reasons. Stores nothing.',
  options: {
    kind: { type: 'string', placeholder: 'K', description: 'erd, flowchart, sequence, api-doc or code' },
    text: { type: 'string', placeholder: 'TEXT', description: 'the text to validate' },
    file: { type: 'string', placeholder: 'FILE', description: 'read the text from FILE' },
    language: { type: 'string', placeholder: 'LANG', description: 'for code: its language (else the fence tag or a guess)' },
    json: { type: 'boolean', description: 'print JSON for machines' },
  },
  async run(values) {
    if (values.kind === undefined) throw new UsageError('give --kind K');
    const text = textFrom(values, 'text', 'file');
    return withCore(values['data-dir'], async (core) => {
      const result = await core.connect().api.validation.check({
        kind: values.kind as never, // checked by the contract
        text,
        ...(values.language ? { language: values.language } : {}),
      });
      if (values.json) printJson(result);
      else console.log(describeValidation(result));
      return 0;
    });
  },
});
