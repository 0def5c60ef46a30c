import { randomUUID } from 'node:crypto';
import type { Core } from '../../electron/core/services';
import { GeneratedKind } from '../../shared/contract/generation';
import type { ActiveChoice, Version } from '../../shared/contract/versions';
import { defineCommand, UsageError } from './command';
import { positiveInt, printJson, withCore } from './withCore';

const KINDS = GeneratedKind.options.join(', ');

function kindArg(value: string | undefined, flag = '--kind'): GeneratedKind {
  const parsed = GeneratedKind.safeParse(value);
  if (!parsed.success) throw new UsageError(`${flag} must be one of ${KINDS}, got '${value ?? ''}'`);
  return parsed.data;
}

/**
 * A version from the command line: `vN` (of the base given by --model, or the only base that has a vN) or its
 * registry id (a plain number, as `architect versions --json` shows it).
 */
export async function resolveVersion(core: Core, given: string, modelFlag: string | undefined): Promise<Version> {
  const { versions } = await core.services.registry.list();
  const numbered = /^v([1-9]\d*)$/.exec(given);
  if (numbered) {
    const modelId = modelFlag === undefined ? undefined : positiveInt(modelFlag, '--model');
    const found = versions.filter((v) => v.number === Number(numbered[1]) && (modelId === undefined || v.modelId === modelId));
    if (found.length === 1) return found[0]!;
    if (found.length === 0) throw new UsageError(`there is no version ${given}${modelId ? ` of model ${modelId}` : ''}; \`architect versions\` lists them`);
    throw new UsageError(`${given} exists for ${found.length} base models (${found.map((v) => `model ${v.modelId ?? '?'}`).join(', ')}): add --model ID, or give the version's id`);
  }
  if (!/^[1-9]\d*$/.test(given)) throw new UsageError(`VERSION must be vN (e.g. v3) or a version id (a whole number), got '${given}'`);
  const version = versions.find((v) => v.id === Number(given));
  if (!version) throw new UsageError(`there is no version with id ${given}; \`architect versions\` lists them`);
  return version;
}

const describeChoice = (a: ActiveChoice) => `${a.kind.padEnd(9)} ${a.version ? `v${a.version.number}` : 'base'} of ${a.modelName}${a.inherited ? ' (default)' : ''}`;

function describeVersion(v: Version): string {
  const loss = v.gate?.candidate.validationLoss ?? v.metrics.validationLoss;
  const valid = v.gate?.candidate.validShare;
  return [
    `#${String(v.id).padEnd(4)} v${String(v.number).padEnd(3)}`,
    `${v.status.padEnd(9)}`,
    `${v.baseName} (model ${v.modelId ?? 'deleted'})`,
    `parent ${v.parent === null ? 'base' : `v${v.parent}`}`,
    `${v.jobType} job ${v.jobId ?? '—'}`,
    `${v.dataset.examples} examples`,
    `held-out loss ${loss === null || loss === undefined ? '—' : loss.toFixed(3)}`,
    `valid ${valid === null || valid === undefined ? '—' : `${Math.round(valid * 100)}%`}`,
    v.activeFor.length ? `serves ${v.activeFor.join(', ')}` : '',
    v.damaged ? `DAMAGED: ${v.damaged}` : '',
  ]
    .filter(Boolean)
    .join('  ');
}

export const versionsCommand = defineCommand({
  name: 'versions',
  summary: 'The trained versions of each base model, their gate results, and which version serves each kind.',
  options: {
    model: { type: 'string', placeholder: 'ID', description: 'only the versions of this installed model' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(values) {
    const modelId = values.model === undefined ? undefined : positiveInt(values.model, '--model');
    return withCore(values['data-dir'], async (core) => {
      const listed = await core.services.registry.list(modelId);
      if (values.json) {
        printJson(listed);
        return 0;
      }
      if (listed.versions.length === 0) console.log('No versions yet: a finished training job writes v1.');
      for (const v of listed.versions) {
        console.log(describeVersion(v));
        if (v.gate) console.log(`        gate: ${v.gate.summary}`);
      }
      if (listed.active.length) {
        console.log('\nServing:');
        for (const a of listed.active) console.log(`  ${describeChoice(a)}`);
      }
      return 0;
    });
  },
});

export const activateCommand = defineCommand({
  name: 'activate',
  summary: 'Make a version (or `base` with --model) serve some kinds: the next generation of those kinds uses it.',
  positionals: { usage: 'VERSION|base', min: 1, max: 1 },
  options: {
    kind: { type: 'string', placeholder: 'K', description: `the kind it serves (${KINDS}); default: the kinds it was trained on` },
    model: { type: 'string', placeholder: 'ID', description: 'the base model (for `base`, or to pick vN among several bases)' },
    default: { type: 'boolean', description: 'also serve every kind that has no choice of its own' },
    'switch-base': { type: 'boolean', description: 'allow serving a kind with another base model than the one it uses now' },
  },
  async run(values, [given]) {
    return withCore(values['data-dir'], async (core) => {
      const base = given === 'base';
      if (base && values.model === undefined) throw new UsageError('`activate base` needs --model ID: which base model');
      const version = base ? null : await resolveVersion(core, given!, values.model);
      const { activations } = await core.services.registry.activate({
        versionId: version?.id ?? null,
        ...(base ? { modelId: positiveInt(values.model, '--model') } : {}),
        ...(values.kind !== undefined ? { kinds: [kindArg(values.kind)] } : {}),
        ...(values.default ? { asDefault: true } : {}),
        ...(values['switch-base'] ? { switchBase: true } : {}),
      });
      for (const a of activations) console.error(`${a.kind === '*' ? 'default' : a.kind}: ${a.note}`);
      return 0;
    });
  },
});

export const rollbackCommand = defineCommand({
  name: 'rollback',
  summary: 'Serve a kind with an earlier version or the plain base (default: what served before); `--undo` takes the last change back.',
  options: {
    kind: { type: 'string', placeholder: 'K', description: `the kind (${KINDS})` },
    to: { type: 'string', placeholder: 'VERSION|base', description: 'vN, a version id, or base (default: the one before the current)' },
    model: { type: 'string', placeholder: 'ID', description: 'to pick vN among several base models' },
    undo: { type: 'boolean', description: "take the kind's last change back (e.g. a rollback) instead" },
  },
  async run(values) {
    const kind = kindArg(values.kind);
    return withCore(values['data-dir'], async (core) => {
      const { registry } = core.services;
      if (values.undo) {
        if (values.to !== undefined) throw new UsageError('give --undo or --to, not both');
        const { activation } = await registry.undo(kind);
        console.error(`${kind}: ${activation.note}`);
        return 0;
      }
      const to = values.to === undefined ? undefined : values.to === 'base' ? ('base' as const) : (await resolveVersion(core, values.to, values.model)).id;
      const { activation } = await registry.rollback(kind, to);
      console.error(`${kind}: ${activation.note}`);
      return 0;
    });
  },
});

export const publishCommand = defineCommand({
  name: 'publish',
  summary: 'Publish a version to Ollama (as architect-<kind>:v<N>): merged into its base, uploaded as a blob, then created.',
  positionals: { usage: 'VERSION', min: 1, max: 1 },
  options: {
    name: { type: 'string', placeholder: 'NAME', description: 'the Ollama model name (default architect-<kind>:v<N>)' },
    host: { type: 'string', placeholder: 'URL', description: 'the Ollama server (default: the setting, http://127.0.0.1:11434)' },
    model: { type: 'string', placeholder: 'ID', description: 'to pick vN among several base models' },
    adapter: { type: 'boolean', description: 'publish the adapter on its base instead (only for Ollama older than 0.34.1)' },
  },
  async run(values, [given]) {
    return withCore(values['data-dir'], async (core) => {
      const version = await resolveVersion(core, given!, values.model);
      const operationId = randomUUID();
      const off = core.connect().on('versions.progress', (p) => {
        if (p.operationId === operationId && p.total > 0) process.stderr.write(`\r${p.phase.padEnd(9)} ${Math.round((100 * p.done) / p.total)}%  ${p.message.slice(0, 80).padEnd(80)}`);
      });
      try {
        const published = await core.services.operations.publish({
          versionId: version.id,
          operationId,
          ...(values.name !== undefined ? { name: values.name } : {}),
          ...(values.host !== undefined ? { host: values.host } : {}),
          ...(values.adapter ? { route: 'adapter' as const } : {}),
        });
        process.stderr.write('\n');
        console.log(published.name);
        console.error(`Published v${version.number} to ${published.host} as ${published.name} (${published.route}, ${published.digest}).`);
        return 0;
      } finally {
        off();
      }
    });
  },
});

/** `architect export VERSION [--merged] --out FILE`: the adapter GGUF, or merged into its base. */
export async function exportVersionCommand(core: Core, given: string, values: { merged?: boolean; out?: string; model?: string }): Promise<number> {
  if (values.out === undefined) throw new UsageError('exporting a version needs --out FILE');
  const version = await resolveVersion(core, given, values.model);
  const operationId = randomUUID();
  const off = core.connect().on('versions.progress', (p) => {
    if (p.operationId === operationId && p.total > 0) process.stderr.write(`\r${p.phase.padEnd(8)} ${Math.round((100 * p.done) / p.total)}%`);
  });
  try {
    const { resolve } = await import('node:path');
    const written = await core.services.operations.export({ versionId: version.id, merged: Boolean(values.merged), outPath: resolve(values.out), operationId });
    process.stderr.write('\n');
    console.error(`Wrote v${version.number}${values.merged ? ' merged into its base' : "'s adapter"} to ${written.path} (${written.bytes} bytes, SHA-256 ${written.sha256}).`);
    return 0;
  } finally {
    off();
  }
}
