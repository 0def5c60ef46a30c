import { statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { ActiveRow, KindKey, StoredVersion } from '../../../db/versions';
import type { Store } from '../../../db/store';
import { GeneratedKind } from '../../../shared/contract/generation';
import type { InstalledModel } from '../../../shared/contract/models';
import { ActivateArgs } from '../../../shared/contract/versions';
import type { ActiveChoice, Activation, GateMetrics, GateResult, Version } from '../../../shared/contract/versions';
import { AppError } from '../../../shared/errors';
import { GATE_RULE_TEXT, judge } from '../../../shared/versions/gate';
import type { Clock } from '../clock';
import { sha256File } from '../models/hash';
import { parseInput } from '../parseArgs';

const KINDS = GeneratedKind.options;

export interface RegistryDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly dataDir: string;
  readonly models: { get(id: number, field?: string): InstalledModel; list(): Promise<{ models: InstalledModel[] }> };
  readonly onChanged: (reason: string) => void;
  readonly onGated: (event: { versionId: number; number: number; baseName: string; jobType: 'manual' | 'adaptive'; activated: boolean; kinds: KindKey[]; gate: GateResult }) => void;
}

/** What generation uses for a kind: a base model and, unless it is the plain base, a version of it. */
export interface Serving {
  readonly model: InstalledModel;
  readonly version: StoredVersion | null;
}

/**
 * The version registry (SQLite; the files stay in `<data>/finetuned_models/<base>/v<N>/`): versions with their
 * status and gate verdict, what serves each kind ('*' is the default for kinds with no choice of their own,
 * and without one the first trainable installed model's plain base serves), and every change of that.
 */
export class VersionRegistry {
  constructor(private readonly deps: RegistryDeps) {}

  // ---- reading ----------------------------------------------------------------------------------

  async list(modelId?: number): Promise<{ versions: Version[]; active: ActiveChoice[]; history: Activation[] }> {
    const { store } = this.deps;
    const active = await this.activeChoices();
    const versions = store.versions
      .list()
      .filter((v) => modelId === undefined || v.modelId === modelId)
      .map((v) => this.view(this.checkFile(v), active));
    const history = store.versions.history();
    return { versions, active, history };
  }

  /** What serves `kind` now; null when no model is installed at all. */
  async serving(kind: GeneratedKind): Promise<Serving | null> {
    const row = this.row(kind) ?? this.row('*');
    if (row) {
      const model = this.deps.models.get(row.modelId, 'modelId');
      return { model, version: row.versionId === null ? null : this.require(row.versionId) };
    }
    const model = await this.fallbackModel();
    return model ? { model, version: null } : null;
  }

  require(id: number, field = 'args.versionId'): StoredVersion {
    const version = this.deps.store.versions.get(id);
    if (!version) throw new AppError('not_found', `There is no version with id ${id}; \`architect versions\` lists them.`, { field });
    return version;
  }

  /** Refuses a version whose adapter is gone or changed (and marks it damaged), so nothing serves a wrong file. */
  async checkIntact(version: StoredVersion, field = 'args.versionId'): Promise<void> {
    const checked = this.checkFile(version);
    let damaged = checked.damaged;
    if (!damaged) {
      const sha256 = await sha256File(version.adapterPath).catch(() => null);
      if (sha256 !== version.adapterSha256) damaged = `its adapter ${version.adapterPath} changed since it was written (SHA-256 differs)`;
    }
    if (damaged) {
      if (damaged !== version.damaged) {
        this.deps.store.versions.setDamaged(version.id, damaged);
        this.deps.onChanged(`v${version.number} is damaged`);
      }
      throw new AppError('conflict', `v${version.number} of ${version.baseName} is damaged: ${damaged}. Roll back to another version, or train again.`, { field });
    }
  }

  /** The version an adaptive job continues from: what serves its kinds on this base, else the newest usable one. */
  parentFor(model: InstalledModel, kinds: readonly GeneratedKind[]): StoredVersion | null {
    const { store } = this.deps;
    for (const kind of [...kinds, '*' as const]) {
      const row = this.row(kind);
      if (row && row.modelId === model.id && row.versionId !== null) {
        const version = this.checkFile(this.require(row.versionId));
        if (!version.damaged) return version;
      }
    }
    const usable = store.versions.list().filter((v) => v.baseSha256 === model.sha256 && v.status !== 'rejected' && !this.checkFile(v).damaged);
    return usable.at(-1) ?? null;
  }

  /** The version a new one is judged against (what it would replace): the parent, else what serves its kinds on that base. */
  comparedWith(model: InstalledModel, kinds: readonly GeneratedKind[], parent: StoredVersion | null): StoredVersion | null {
    if (parent) return parent;
    for (const kind of kinds) {
      const row = this.row(kind);
      if (row && row.modelId === model.id && row.versionId !== null) return this.require(row.versionId);
    }
    return null;
  }

  // ---- versions a job wrote ---------------------------------------------------------------------

  register(input: {
    model: InstalledModel;
    number: number;
    parent: number | null;
    jobId: number;
    jobType: 'manual' | 'adaptive';
    dir: string;
    adapterPath: string;
    adapterSha256: string;
    kinds: readonly GeneratedKind[];
    dataset: Version['dataset'];
    metrics: Version['metrics'];
  }): StoredVersion {
    const { model, ...rest } = input;
    const version = this.deps.store.versions.insert({
      ...rest,
      modelId: model.id,
      baseName: model.name,
      baseSha256: model.sha256,
      adapterBytes: statSync(input.adapterPath).size,
      createdAt: this.now(),
    });
    this.deps.onChanged(`v${version.number} of ${model.name} was written`);
    return version;
  }

  /**
   * The gate's verdict on a new version, stored with it: an adaptive version that is better serves its kinds at
   * once (reason 'gate'); a worse one is rejected; a manual one stays a candidate with the comparison, for the user.
   */
  decide(versionId: number, measured: { candidate: GateMetrics; against: GateMetrics } | string, againstVersion: number | null): { activated: boolean; message: string } {
    const { store } = this.deps;
    const version = this.require(versionId);
    if (typeof measured === 'string') {
      const message = `v${version.number} was not evaluated (${measured}); it stays a candidate: activate it on the Models page if you trust it.`;
      this.deps.onChanged(message);
      return { activated: false, message };
    }
    const verdict = judge(version.number, measured.candidate, againstVersion, measured.against);
    const gate: GateResult = {
      candidate: measured.candidate,
      against: { version: againstVersion, metrics: measured.against },
      passed: verdict.passed,
      rule: GATE_RULE_TEXT,
      summary: verdict.summary,
      evaluatedAt: this.now(),
    };
    const activate = version.jobType === 'adaptive' && verdict.passed && version.modelId !== null;
    const kinds = this.kindsOf(version);
    store.db.transaction(() => {
      store.versions.setGate(version.id, gate, version.jobType === 'adaptive' && !verdict.passed ? 'rejected' : 'candidate');
      if (activate) {
        for (const kind of kinds) this.record(kind, version.modelId!, version, 'gate', `The gate: ${verdict.summary}`);
        this.refreshStatuses();
      }
    }).immediate();
    const outcome =
      version.jobType === 'manual'
        ? `${verdict.summary} It is a candidate: activate it on the Models page to use it.`
        : activate
          ? `${verdict.summary} It now serves ${kinds.join(', ')}.`
          : `${verdict.summary} It was rejected; what served before still does.`;
    this.deps.onGated({ versionId: version.id, number: version.number, baseName: version.baseName, jobType: version.jobType, activated: activate, kinds: activate ? kinds : [], gate });
    this.deps.onChanged(outcome);
    return { activated: activate, message: outcome };
  }

  // ---- what serves each kind --------------------------------------------------------------------

  async activate(input: ActivateArgs): Promise<{ active: ActiveChoice[]; activations: Activation[] }> {
    const args = parseInput(ActivateArgs, input);
    const version = args.versionId === null ? null : this.require(args.versionId);
    if (version) await this.checkIntact(version);
    const modelId = version ? version.modelId : args.modelId;
    if (modelId === null || modelId === undefined) {
      throw new AppError('invalid_arguments', version ? `v${version.number}'s base model ${version.baseName} is no longer installed; import it again first.` : 'Say which base model (modelId) the plain base is.', { field: 'args.modelId' });
    }
    if (version && args.modelId !== undefined && args.modelId !== version.modelId) {
      throw new AppError('invalid_arguments', `v${version.number} belongs to ${version.baseName} (model ${version.modelId}), not model ${args.modelId}.`, { field: 'args.modelId' });
    }
    const model = this.deps.models.get(modelId, 'args.modelId');
    if (model.missing) throw new AppError('not_found', `The model file ${model.path} is gone; import it again first.`, { field: 'args.modelId' });
    const kinds: KindKey[] = [...(args.kinds ?? (version && version.kinds.length ? version.kinds : ['*' as const])), ...(args.asDefault ? ['*' as const] : [])];
    const unique = [...new Set(kinds)];
    // Another base for a kind is a choice of base, made on purpose: said so, never by accident.
    const other = unique.map((k) => ({ kind: k, row: this.row(k) })).filter((x) => x.row && x.row.modelId !== model.id);
    if (other.length && !args.switchBase) {
      const names = other.map((x) => `${x.kind === '*' ? 'the default' : x.kind} (served by ${this.modelName(x.row!.modelId)}, model ${x.row!.modelId})`).join(', ');
      throw new AppError(
        'conflict',
        `${version ? `v${version.number}` : 'This base'} is of ${model.name} (model ${model.id}), but ${names} ${other.length === 1 ? 'uses' : 'use'} another base model. Choose to switch the base (switchBase) to serve ${other.length === 1 ? 'it' : 'them'} with ${model.name}.`,
        { field: 'args.switchBase' },
      );
    }
    const { store } = this.deps;
    const activations = store.db.transaction(() => {
      const done = unique.map((kind) => this.record(kind, model.id, version, 'user', version ? `v${version.number} chosen by the user` : `the plain base of ${model.name} chosen by the user`));
      this.refreshStatuses();
      return done;
    }).immediate();
    this.deps.onChanged(`${version ? `v${version.number}` : 'the plain base'} now serves ${unique.join(', ')}`);
    return { active: await this.activeChoices(), activations };
  }

  /** Back to an earlier version (or the plain base) for one kind; by default to what served before the current one. */
  async rollback(kind: GeneratedKind, to?: number | 'base'): Promise<{ active: ActiveChoice[]; activation: Activation }> {
    const current = this.row(kind) ?? this.row('*');
    let target: { modelId: number; version: StoredVersion | null };
    if (to === 'base') {
      const model = current ? this.deps.models.get(current.modelId) : await this.fallbackModel();
      if (!model) throw new AppError('not_found', 'No base model is installed.', { field: 'args.to' });
      target = { modelId: model.id, version: null };
    } else if (to !== undefined) {
      const version = this.require(to, 'args.to');
      if (version.modelId === null) throw new AppError('not_found', `v${version.number}'s base model is no longer installed.`, { field: 'args.to' });
      if (current && current.modelId !== version.modelId) {
        throw new AppError('conflict', `${kind} is served by ${this.modelName(current.modelId)}; v${version.number} is of ${version.baseName}. Activate it with switchBase to change the base.`, { field: 'args.to' });
      }
      target = { modelId: version.modelId, version };
    } else {
      if (!current) throw new AppError('conflict', `Nothing was chosen for ${kind} yet: there is nothing to roll back.`, { field: 'args.kind' });
      const before = this.previousChoice(kind, current);
      target = before ?? { modelId: current.modelId, version: null };
    }
    if (target.version) await this.checkIntact(target.version, 'args.to');
    const activation = this.deps.store.db.transaction(() => {
      const a = this.record(kind, target.modelId, target.version, 'rollback', `rolled back to ${target.version ? `v${target.version.number}` : 'the plain base'}`);
      this.refreshStatuses();
      return a;
    }).immediate();
    this.deps.onChanged(`${kind} rolled back to ${target.version ? `v${target.version.number}` : 'the plain base'}`);
    return { active: await this.activeChoices(), activation };
  }

  /** Takes the kind's latest change back (an undo of an undo redoes it). */
  async undo(kind: GeneratedKind): Promise<{ active: ActiveChoice[]; activation: Activation }> {
    const { store } = this.deps;
    const last = store.versions.lastActivation(kind);
    if (!last) throw new AppError('conflict', `There is no change of ${kind} to undo.`, { field: 'args.kind' });
    const previous = last.previous;
    if (previous?.versionId) await this.checkIntact(this.require(previous.versionId), 'args.kind');
    const activation = store.db.transaction(() => {
      store.versions.markUndone(last.id);
      const what = previous === null ? 'nothing chosen (the default serves)' : previous.versionId === null ? 'the plain base' : `v${previous.version}`;
      let a: Activation;
      if (previous === null || previous.modelId === null) {
        a = store.versions.activate({ kind, modelId: null, versionId: null, versionNumber: null, previous: this.snapshot(kind), reason: 'undo', note: `undid "${last.note}": back to ${what}`, at: this.now() });
      } else {
        const version = previous.versionId === null ? null : this.require(previous.versionId);
        a = this.record(kind, previous.modelId, version, 'undo', `undid "${last.note}": back to ${what}`);
      }
      this.refreshStatuses();
      return a;
    }).immediate();
    this.deps.onChanged(`undid the last change of ${kind}`);
    return { active: await this.activeChoices(), activation };
  }

  /** Deletes a version's row and files; never one that serves a kind. */
  async delete(versionId: number): Promise<{ deleted: number }> {
    const version = this.require(versionId);
    const serving = this.deps.store.versions.active().filter((r) => r.versionId === versionId).map((r) => (r.kind === '*' ? 'the default' : r.kind));
    if (serving.length) {
      throw new AppError('conflict', `v${version.number} serves ${serving.join(', ')}; activate or roll back to another version first.`, { field: 'args.versionId' });
    }
    const root = join(this.deps.dataDir, 'finetuned_models');
    const inside = !relative(root, resolve(version.dir)).startsWith('..');
    this.deps.store.versions.delete(versionId);
    if (inside) await rm(version.dir, { recursive: true, force: true });
    this.deps.onChanged(`v${version.number} of ${version.baseName} was deleted`);
    return { deleted: versionId };
  }

  // ---- internals --------------------------------------------------------------------------------

  private record(kind: KindKey, modelId: number, version: StoredVersion | null, reason: Activation['reason'], note: string): Activation {
    return this.deps.store.versions.activate({
      kind,
      modelId,
      versionId: version?.id ?? null,
      versionNumber: version?.number ?? null,
      previous: this.snapshot(kind),
      reason,
      note,
      at: this.now(),
    });
  }

  private snapshot(kind: KindKey): { modelId: number | null; versionId: number | null; number: number | null } | null {
    const row = this.row(kind);
    if (!row) return null;
    return { modelId: row.modelId, versionId: row.versionId, number: row.versionId === null ? null : (this.deps.store.versions.get(row.versionId)?.number ?? null) };
  }

  /** The choice before the current one in the kind's history (skipping undone changes), if any. */
  private previousChoice(kind: GeneratedKind, current: ActiveRow): { modelId: number; version: StoredVersion | null } | null {
    const last = this.deps.store.versions.lastActivation(kind);
    const previous = last?.previous;
    if (!previous || previous.modelId === null) return null;
    if (previous.modelId === current.modelId && previous.versionId === current.versionId) return null;
    return { modelId: previous.modelId, version: previous.versionId === null ? null : (this.deps.store.versions.get(previous.versionId) ?? null) };
  }

  /** active / archived follow what serves: a version that served once and no longer does is archived. */
  private refreshStatuses(): void {
    const { store } = this.deps;
    const serving = new Set(store.versions.active().map((r) => r.versionId));
    for (const v of store.versions.list()) {
      if (serving.has(v.id) && v.status !== 'active') store.versions.setStatus(v.id, 'active');
      else if (!serving.has(v.id) && v.status === 'active') store.versions.setStatus(v.id, 'archived');
    }
  }

  private row(kind: KindKey): ActiveRow | undefined {
    return this.deps.store.versions.active().find((r) => r.kind === kind);
  }

  private async fallbackModel(): Promise<InstalledModel | undefined> {
    return (await this.deps.models.list()).models.find((m) => m.trainable && !m.missing) ?? (await this.deps.models.list()).models.find((m) => !m.missing);
  }

  private async activeChoices(): Promise<ActiveChoice[]> {
    const rows = this.deps.store.versions.active();
    const fallback = rows.some((r) => r.kind === '*') ? undefined : await this.fallbackModel();
    const out: ActiveChoice[] = [];
    for (const kind of KINDS) {
      const own = rows.find((r) => r.kind === kind);
      const row = own ?? rows.find((r) => r.kind === '*');
      if (row) {
        const version = row.versionId === null ? null : this.deps.store.versions.get(row.versionId);
        out.push({ kind, modelId: row.modelId, modelName: this.modelName(row.modelId), version: version ? { id: version.id, number: version.number } : null, inherited: !own, since: row.since });
      } else if (fallback) {
        out.push({ kind, modelId: fallback.id, modelName: fallback.name, version: null, inherited: true, since: fallback.createdAt });
      }
    }
    return out;
  }

  private modelName(id: number): string {
    try {
      return this.deps.models.get(id).name;
    } catch {
      return `model ${id}`;
    }
  }

  private kindsOf(version: StoredVersion): KindKey[] {
    return version.kinds.length ? [...version.kinds] : ['*'];
  }

  /** Cheap check on every list: the file is there with its size (the hash is checked before it serves). */
  private checkFile(version: StoredVersion): StoredVersion {
    if (version.damaged) return version;
    const stat = statSync(version.adapterPath, { throwIfNoEntry: false });
    const damaged = !stat ? `its adapter ${version.adapterPath} is missing` : stat.size !== version.adapterBytes ? `its adapter ${version.adapterPath} changed size since it was written` : null;
    if (!damaged) return version;
    this.deps.store.versions.setDamaged(version.id, damaged);
    return { ...version, damaged };
  }

  private view(version: StoredVersion, active: readonly ActiveChoice[]): Version {
    const { adapterBytes: _bytes, ...rest } = version;
    return { ...rest, activeFor: active.filter((a) => a.version?.id === version.id).map((a) => a.kind) };
  }

  private now(): string {
    return this.deps.clock().toISOString();
  }
}
