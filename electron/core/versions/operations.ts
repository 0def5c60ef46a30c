import { randomInt } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { GeneratedKind } from '../../../shared/contract/generation';
import type { OperationProgress } from '../../../shared/contract/versions';
import { ExportArgs, PublishArgs } from '../../../shared/contract/versions';
import { AppError } from '../../../shared/errors';
import type { Spawner } from '../childHost';
import type { GenerationService } from '../generation/service';
import type { LlamaRuntime } from '../llama';
import { parseInput } from '../parseArgs';
import type { VersionRegistry } from './registry';

export interface OperationsDeps {
  readonly registry: VersionRegistry;
  /** The process's node-llama-cpp runtime (publishing reads the base's chat format with it). */
  readonly llama: LlamaRuntime;
  readonly generation: GenerationService;
  readonly spawner: Spawner;
  readonly dataDir: string;
  readonly models: { get(id: number, field?: string): { id: number; path: string; name: string; missing: boolean } };
  /** The Ollama host setting. */
  readonly ollamaHost: () => string;
  readonly onProgress: (progress: OperationProgress) => void;
  /** The export worker's built entry (tests); default out/workers/export.js. */
  readonly exportEntry?: string;
}

/** What is done with a version beyond serving: exporting it as GGUF, publishing it to Ollama, comparing it. */
export class VersionOperations {
  /** What runs now, e.g. "The export of v3"; a move of the data folder waits for none of it, so it is refused meanwhile. */
  private readonly running = new Set<string>();

  constructor(private readonly deps: OperationsDeps) {}

  /** The exports and publishes under way, each as "The export of v3" / "The publish of v3 to Ollama". */
  get underway(): string[] {
    return [...this.running];
  }

  async export(input: ExportArgs, signal?: AbortSignal): Promise<{ path: string; bytes: number; sha256: string }> {
    const args = parseInput(ExportArgs, input);
    const { version, model } = await this.intact(args.versionId);
    const progress = (p: { phase: OperationProgress['phase']; done: number; total: number; message: string }) => this.deps.onProgress({ operationId: args.operationId, ...p });
    const what = `The export of v${version.number} (operation ${args.operationId})`;
    this.running.add(what);
    try {
      // The app's own exports folder is made on first use; any other folder must exist.
      const exports = join(this.deps.dataDir, 'exports');
      if (resolve(dirname(args.outPath)) === exports) await mkdir(exports, { recursive: true });
      const { exportVersion } = await import('./export');
      const written = await exportVersion({
        spawner: this.deps.spawner,
        ...(this.deps.exportEntry ? { workerEntry: this.deps.exportEntry } : {}),
        modelPath: model.path,
        adapterPath: version.adapterPath,
        outPath: args.outPath,
        merged: args.merged,
        onProgress: progress,
        ...(signal ? { signal } : {}),
      });
      progress({ phase: 'done', done: 1, total: 1, message: `Wrote ${written.path}` });
      return written;
    } catch (error) {
      progress({ phase: 'failed', done: 0, total: 1, message: (error as Error).message });
      throw asArgument(error);
    } finally {
      this.running.delete(what);
    }
  }

  /** Publishes the merged GGUF (made in a temporary file of the data folder, removed after) as architect-<kind>:v<N>. */
  async publish(input: PublishArgs, signal?: AbortSignal): Promise<{ name: string; host: string; route: 'merged' | 'adapter'; digest: string }> {
    const args = parseInput(PublishArgs, input);
    const { version, model } = await this.intact(args.versionId);
    const route = args.route ?? 'merged';
    const host = args.host ?? this.deps.ollamaHost();
    const name = args.name ?? `architect-${version.kinds[0] ?? 'model'}:v${version.number}`;
    const progress = (p: { phase: OperationProgress['phase']; done: number; total: number; message: string }) => this.deps.onProgress({ operationId: args.operationId, ...p });
    const merged = join(this.deps.dataDir, 'exports', `.publish-${args.operationId}.gguf`);
    const what = `The publish of v${version.number} to Ollama (operation ${args.operationId})`;
    this.running.add(what);
    try {
      // Loaded on first use: publishing is rare, and the app starts faster without it.
      const { exportVersion } = await import('./export');
      const { ollamaChatFor, publishToOllama } = await import('./publish');
      const chat = await ollamaChatFor(model.path, { llama: await this.deps.llama.get() });
      let modelPath = model.path;
      if (route === 'merged') {
        await mkdir(join(this.deps.dataDir, 'exports'), { recursive: true });
        await exportVersion({
          spawner: this.deps.spawner,
          ...(this.deps.exportEntry ? { workerEntry: this.deps.exportEntry } : {}),
          modelPath: model.path,
          adapterPath: version.adapterPath,
          outPath: merged,
          merged: true,
          onProgress: progress,
          ...(signal ? { signal } : {}),
        });
        modelPath = merged;
      }
      const published = await publishToOllama({
        host,
        name,
        route,
        modelPath,
        ...(route === 'adapter' ? { adapterPath: version.adapterPath } : {}),
        chat,
        onProgress: progress,
        ...(signal ? { signal } : {}),
      });
      progress({ phase: 'done', done: 1, total: 1, message: `Published ${published.name} to ${host}` });
      return { name: published.name, host, route: published.route, digest: published.digest };
    } catch (error) {
      progress({ phase: 'failed', done: 0, total: 1, message: (error as Error).message });
      throw asArgument(error);
    } finally {
      this.running.delete(what);
      await rm(merged, { force: true });
    }
  }

  /** One prompt, two sides (versions or the plain base), the same seed; nothing is stored. */
  async compare(args: { kind: GeneratedKind; requirements: string; a: number | null; b: number | null; modelId?: number; maxTokens?: number }) {
    const sides = [args.a, args.b];
    const bases = sides.filter((v): v is number => v !== null).map((id) => this.deps.registry.require(id, 'args.a').modelId);
    const modelId = args.modelId ?? bases[0] ?? undefined;
    if (modelId === undefined || modelId === null) throw new AppError('invalid_arguments', 'Say which base model to compare on (modelId).', { field: 'args.modelId' });
    if (bases.some((b) => b !== modelId)) throw new AppError('invalid_arguments', 'Both sides must be of the same base model.', { field: 'args.b' });
    const seed = randomInt(0, 2 ** 31 - 1);
    const results = [];
    for (const versionId of sides) {
      const draft = await this.deps.generation.draft({ kind: args.kind, requirements: args.requirements, modelId, versionId, seed, ...(args.maxTokens ? { maxTokens: args.maxTokens } : {}) });
      const label = versionId === null ? 'base' : `v${this.deps.registry.require(versionId).number}`;
      results.push({ versionId, label, ...draft });
    }
    return { a: results[0]!, b: results[1]!, seed };
  }

  private async intact(versionId: number) {
    const version = this.deps.registry.require(versionId);
    await this.deps.registry.checkIntact(version);
    if (version.modelId === null) throw new AppError('not_found', `v${version.number}'s base model ${version.baseName} is no longer installed; import it again.`, { field: 'args.versionId' });
    const model = this.deps.models.get(version.modelId, 'args.versionId');
    if (model.missing) throw new AppError('not_found', `The base model file ${model.path} is gone; import it again.`, { field: 'args.versionId' });
    return { version, model };
  }
}

/** The exporter names its options' fields (outPath, …); the caller's are the contract's (args.outPath, …). */
function asArgument(error: unknown): unknown {
  if (!(error instanceof AppError) || !error.field || error.field.startsWith('args.')) return error;
  return new AppError(error.code, error.message, { field: `args.${error.field}`, cause: error });
}
