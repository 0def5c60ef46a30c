import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { CatalogItem, Download, DownloadArgs, InstalledModel, ModelFit } from '../../shared/contract/models';
import { formatBytes } from '../../shared/format';
import { formatGB } from '../../shared/models/memory';
import type { Core } from '../../electron/core/services';
import { defineCommand, UsageError } from './command';
import { positiveInt, printJson, withCore } from './withCore';

/**
 * `architect models`: the installed models and the catalog with what fits; `download` (progress on
 * standard error, Ctrl-C pauses, the same command again resumes), `import` and `delete`.
 */
export const modelsCommand = defineCommand({
  name: 'models',
  summary: 'List installed base models and the catalog (with what fits this machine); download, import or delete one.',
  positionals: { usage: '[download ID|URI | import FILE | delete ID]', min: 0, max: 2 },
  options: {
    quant: { type: 'string', placeholder: 'Q', description: 'download: which file of a catalog model, e.g. Q8_0 (default Q4_K_M)' },
    yes: { type: 'boolean', short: 'y', description: 'delete: do not ask for confirmation' },
    json: { type: 'boolean', description: 'print JSON (download: one line per progress event, then the result)' },
  },
  async run(values, [action, arg]) {
    const json = values.json === true;
    if (action === undefined || action === 'list') {
      if (arg !== undefined) throw new UsageError(`unexpected argument '${arg}'`);
      return withCore(values['data-dir'], (core) => list(core, json));
    }
    if (!['download', 'import', 'delete'].includes(action)) throw new UsageError(`expected download, import or delete, got '${action}'`);
    if (arg === undefined) throw new UsageError(`${action} takes ${action === 'download' ? 'a catalog ID or a URI' : action === 'import' ? 'FILE' : 'ID'}`);
    if (action !== 'download' && values.quant !== undefined) throw new UsageError('--quant is for download');
    if (action !== 'delete' && values.yes) throw new UsageError('--yes is for delete');
    if (action === 'download') {
      const isUri = /[:/]/.test(arg);
      if (isUri && values.quant !== undefined) throw new UsageError('--quant picks a file of a catalog model; a URI names its file already');
      const target: DownloadArgs = isUri ? { uri: arg } : { catalogId: arg, ...(values.quant !== undefined ? { quant: values.quant } : {}) };
      return withCore(values['data-dir'], (core) => download(core, target, json));
    }
    if (action === 'import') {
      return withCore(values['data-dir'], async (core) => {
        const model = await core.services.models.import({ path: resolve(arg) });
        if (json) printJson(model);
        else console.log(`Model ${model.id}: ${model.name}\n${describeModel(model)}`);
        return 0;
      });
    }
    const id = positiveInt(arg, 'ID');
    if (!values.yes && process.stdin.isTTY !== true) {
      throw new UsageError('refusing to delete without --yes: standard input is not a terminal to confirm on');
    }
    return withCore(values['data-dir'], async (core) => {
      const { models } = core.services;
      const model = models.get(id);
      if (!values.yes) {
        const fate = model.managed ? `Its file ${model.path} will be deleted.` : `Its file ${model.path} stays (it is outside the models folder).`;
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        const answer = await rl.question(`Delete model ${id} "${model.name}"? ${fate} [y/N] `).finally(() => rl.close());
        if (!/^y(es)?$/i.test(answer.trim())) {
          process.stderr.write('Nothing deleted.\n');
          return 1;
        }
      }
      const result = await models.delete({ id });
      if (json) printJson({ deleted: id, ...result });
      else console.log(`Deleted model ${id} "${model.name}"; ${result.fileDeleted ? `its file ${result.path} is gone` : `its file ${result.path} was left in place`}.`);
      return 0;
    });
  },
});

async function list(core: Core, json: boolean): Promise<number> {
  const { models } = core.services;
  const [installed, catalog] = await Promise.all([models.list(), models.catalog()]);
  const { downloads } = models.downloads();
  if (json) {
    printJson({ ...installed, catalog: catalog.items, downloads });
    return 0;
  }
  const lines = [`Installed models (folder ${installed.folder}):`];
  if (installed.models.length === 0) {
    const first = catalog.items.find((i) => i.default) ?? catalog.items[0];
    lines.push(`  none yet${first ? ` — \`architect models download ${first.id}\` gets ${first.name}` : ''}`);
  }
  for (const m of installed.models) lines.push(`  ${String(m.id).padStart(3)}  ${m.name}${m.missing ? '  (FILE MISSING)' : ''}`, indent(describeModel(m), 7));
  lines.push('', 'Catalog (`architect models download ID [--quant Q]`):');
  for (const item of catalog.items) lines.push(...describeCatalogItem(item));
  if (downloads.length > 0) {
    lines.push('', 'Downloads:');
    for (const d of downloads) lines.push(`  ${String(d.id).padStart(3)}  ${d.state.padEnd(11)} ${d.catalogId ?? d.uri}${d.quant ? ` ${d.quant}` : ''}  ${amount(d)}${d.error ? `\n       ${d.error}` : ''}`);
  }
  console.log(lines.join('\n'));
  return 0;
}

function describeModel(m: InstalledModel): string {
  return [
    `path ${m.path}${m.managed ? '' : ' (imported in place)'}`,
    `${m.architecture}, ${m.fileType}, ${formatBytes(m.sizeBytes)}, sha256 ${m.sha256.slice(0, 16)}…`,
    m.shape ? `${m.shape.layers} layers, width ${m.shape.width}, ${m.shape.heads} heads (${m.shape.kvHeads} KV), context ${m.shape.contextLength}` : 'shape unknown',
    m.trainable ? 'trainable (LoRA)' : (m.trainReason ?? 'generation only'),
    m.fit ? fitText(m.fit) : 'fit unknown',
  ].join('\n');
}

function describeCatalogItem(item: CatalogItem): string[] {
  const head = `  ${item.id}${item.default ? ' (default)' : ''} — ${item.name}, ${item.licence}`;
  const files = item.files.map(
    (f) => `      ${f.quant.padEnd(7)} ${formatBytes(f.sizeBytes).padStart(9)}  ${fitShort(f.fit)}${f.installedModelId !== null ? `  [installed: model ${f.installedModelId}]` : ''}`,
  );
  return [head, ...files];
}

/** The fit in a few words for the catalog table; the installed list gives the full summary. */
function fitShort(fit: ModelFit): string {
  const needs = formatGB(fit.requiredBytes);
  const has = formatGB(fit.availableBytes);
  if (fit.where === 'gpu') return `fits on the GPU (needs ${needs} of ${has} free VRAM)`;
  if (fit.where === 'cpu') return `fits on the CPU (needs ${needs} of ${has} usable RAM)`;
  return `does not fit (needs ${needs}; ${has} usable RAM)`;
}

function fitText(fit: ModelFit): string {
  return `${{ gpu: 'fits on the GPU', cpu: 'fits on the CPU', none: 'does not fit' }[fit.where]}: ${fit.summary}`;
}

const indent = (text: string, n: number) => text.split('\n').map((l) => ' '.repeat(n) + l).join('\n');

function amount(d: Download): string {
  return d.totalBytes ? `${formatBytes(d.bytes)} of ${formatBytes(d.totalBytes)}` : formatBytes(d.bytes);
}

/**
 * Starts or resumes a download and follows it to its end. Exit code 0 installed, 1 failed, 130 paused
 * by Ctrl-C (the same command resumes it).
 */
async function download(core: Core, target: DownloadArgs, json: boolean): Promise<number> {
  const { models } = core.services;
  const client = core.connect();
  const bar = new ProgressBar(json);
  let id: number | undefined;
  let interrupted = false;
  const pause = () => {
    if (id !== undefined) void models.cancelDownload({ id }).catch(() => undefined);
  };
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    bar.note('Pausing… (Ctrl-C again to quit at once; run the same command again to resume)');
    pause();
  };
  process.on('SIGINT', onSigint);
  const stop = client.on('models.download', (d) => {
    if (d.id === id) bar.update(d);
  });
  try {
    const started = await models.download(target);
    id = started.id;
    bar.update(started);
    if (interrupted) pause();
    const end = await models.waitForDownload(id);
    bar.end(end);
    if (end.state === 'done' && end.modelId !== null) {
      const model = models.get(end.modelId);
      if (json) process.stdout.write(`${JSON.stringify({ type: 'result', download: end, model })}\n`);
      else console.log(`Installed model ${model.id}: ${model.name}\n${describeModel(model)}`);
      return 0;
    }
    if (json) process.stdout.write(`${JSON.stringify({ type: 'result', download: end, model: null })}\n`);
    if (end.state === 'paused') {
      process.stderr.write(`Paused at ${amount(end)}; the partial file is kept. Run the same command again to resume.\n`);
      return 130;
    }
    process.stderr.write(`${end.error ?? `The download ended ${end.state}.`}\n`);
    return 1;
  } catch (error) {
    bar.end();
    throw error;
  } finally {
    stop();
    client.close();
    process.off('SIGINT', onSigint);
  }
}

/** One line on standard error, redrawn on a terminal (a line per 10% elsewhere); with --json, a JSON line per event on standard output. */
class ProgressBar {
  private readonly tty = process.stderr.isTTY === true;
  private drawn = false;
  private lastStep = '';
  private ended = false;

  constructor(private readonly json: boolean) {}

  update(d: Download): void {
    if (this.ended) return;
    if (this.json) {
      process.stdout.write(`${JSON.stringify({ type: 'progress', download: d })}\n`);
      return;
    }
    const line = progressLine(d);
    if (this.tty) {
      process.stderr.write(`\r\x1b[K${line}`);
      this.drawn = true;
      return;
    }
    const step = d.state === 'downloading' && d.totalBytes ? `${d.state} ${Math.floor((d.bytes / d.totalBytes) * 10)}` : d.state;
    if (step === this.lastStep) return;
    this.lastStep = step;
    process.stderr.write(`${line}\n`);
  }

  note(text: string): void {
    if (this.drawn) process.stderr.write('\n');
    this.drawn = false;
    if (!this.json) process.stderr.write(`${text}\n`);
  }

  end(last?: Download): void {
    if (last && !this.ended) this.update(last);
    this.ended = true;
    if (this.drawn) process.stderr.write('\n');
    this.drawn = false;
  }
}

const WIDTH = 24;

/** E.g. "[#########---------------]  38%  1.6 GiB of 4.1 GiB  21.4 MiB/s  ETA 2m03s". */
export function progressLine(d: Download): string {
  const share = d.totalBytes ? Math.min(1, d.bytes / d.totalBytes) : null;
  const filled = share === null ? 0 : Math.round(share * WIDTH);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}]`;
  const percent = share === null ? '  ?%' : `${String(Math.floor(share * 100)).padStart(3)}%`;
  const parts = [bar, percent, amount(d)];
  if (d.state === 'downloading') {
    if (d.bytesPerSecond > 0) parts.push(`${formatBytes(d.bytesPerSecond)}/s`);
    if (d.etaSeconds !== null) parts.push(`ETA ${duration(d.etaSeconds)}`);
  } else {
    parts.push(d.state);
  }
  return parts.join('  ');
}

function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
