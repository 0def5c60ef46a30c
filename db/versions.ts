import type { Database, Statement } from 'better-sqlite3';
import type { GeneratedKind } from '../shared/contract/generation';
import { GateResult } from '../shared/contract/versions';
import type { Activation, Version, VersionStatus } from '../shared/contract/versions';

/** A kind, or '*': the default for kinds with no choice of their own. */
export type KindKey = GeneratedKind | '*';

interface VersionRow {
  id: number;
  model_id: number | null;
  base_name: string;
  base_sha256: string;
  number: number;
  parent: number | null;
  job_id: number | null;
  job_type: 'manual' | 'adaptive';
  dir: string;
  adapter_path: string;
  adapter_sha256: string;
  adapter_bytes: number;
  status: VersionStatus;
  damaged: string | null;
  kinds: string;
  dataset: string;
  metrics: string;
  gate: string | null;
  created_at: string;
}

interface ActivationRow {
  id: number;
  kind: KindKey;
  model_id: number | null;
  version_id: number | null;
  version_number: number | null;
  had_previous: 0 | 1;
  previous_model_id: number | null;
  previous_version_id: number | null;
  previous_number: number | null;
  reason: Activation['reason'];
  note: string;
  undone: 0 | 1;
  at: string;
}

export interface ActiveRow {
  readonly kind: KindKey;
  readonly modelId: number;
  readonly versionId: number | null;
  readonly activationId: number;
  readonly since: string;
}

/** A version as stored, before the service adds what it serves. */
export type StoredVersion = Omit<Version, 'activeFor'> & { readonly adapterBytes: number };

export interface NewVersion {
  readonly modelId: number;
  readonly baseName: string;
  readonly baseSha256: string;
  readonly number: number;
  readonly parent: number | null;
  readonly jobId: number | null;
  readonly jobType: 'manual' | 'adaptive';
  readonly dir: string;
  readonly adapterPath: string;
  readonly adapterSha256: string;
  readonly adapterBytes: number;
  readonly kinds: readonly GeneratedKind[];
  readonly dataset: Version['dataset'];
  readonly metrics: Version['metrics'];
  readonly createdAt: string;
}

export interface NewActivation {
  readonly kind: KindKey;
  readonly modelId: number | null;
  readonly versionId: number | null;
  readonly versionNumber: number | null;
  readonly previous: { modelId: number | null; versionId: number | null; number: number | null } | null;
  readonly reason: Activation['reason'];
  readonly note: string;
  readonly at: string;
}

function versionFromRow(row: VersionRow): StoredVersion {
  return {
    id: row.id,
    modelId: row.model_id,
    baseName: row.base_name,
    baseSha256: row.base_sha256,
    number: row.number,
    parent: row.parent,
    jobId: row.job_id,
    jobType: row.job_type,
    dir: row.dir,
    adapterPath: row.adapter_path,
    adapterSha256: row.adapter_sha256,
    adapterBytes: row.adapter_bytes,
    status: row.status,
    damaged: row.damaged,
    kinds: JSON.parse(row.kinds) as GeneratedKind[],
    dataset: JSON.parse(row.dataset) as Version['dataset'],
    metrics: JSON.parse(row.metrics) as Version['metrics'],
    gate: row.gate === null ? null : GateResult.parse(JSON.parse(row.gate)),
    createdAt: row.created_at,
  };
}

export function activationFromRow(row: ActivationRow): Activation & { kind: KindKey } {
  return {
    id: row.id,
    kind: row.kind,
    modelId: row.model_id,
    versionId: row.version_id,
    version: row.version_number,
    previous: row.had_previous ? { modelId: row.previous_model_id, versionId: row.previous_version_id, version: row.previous_number } : null,
    reason: row.reason,
    note: row.note,
    undone: row.undone === 1,
    at: row.at,
  };
}

/** The versions, activations and active_versions tables. Callers hold the transactions. */
export class VersionRepo {
  private readonly insertStmt: Statement<Record<string, unknown>>;
  private readonly getStmt: Statement<[number], VersionRow>;
  private readonly byNumberStmt: Statement<[string, number], VersionRow>;
  private readonly listStmt: Statement<[], VersionRow>;
  private readonly maxNumberStmt: Statement<[string], { n: number | null }>;
  private readonly byJobStmt: Statement<[number], VersionRow>;
  private readonly activeStmt: Statement<[], { kind: KindKey; model_id: number; version_id: number | null; activation_id: number; at: string }>;
  private readonly setActiveStmt: Statement<Record<string, unknown>>;
  private readonly clearActiveStmt: Statement<[string]>;
  private readonly insertActivationStmt: Statement<Record<string, unknown>>;
  private readonly historyStmt: Statement<[number], ActivationRow>;
  private readonly lastActivationStmt: Statement<[string], ActivationRow>;
  private readonly activationStmt: Statement<[number], ActivationRow>;

  constructor(private readonly db: Database) {
    this.insertStmt = db.prepare(
      `INSERT INTO versions (model_id, base_name, base_sha256, number, parent, job_id, job_type, dir, adapter_path, adapter_sha256,
         adapter_bytes, status, kinds, dataset, metrics, created_at)
       VALUES (@modelId, @baseName, @baseSha256, @number, @parent, @jobId, @jobType, @dir, @adapterPath, @adapterSha256,
         @adapterBytes, 'candidate', @kinds, @dataset, @metrics, @createdAt)`,
    );
    this.getStmt = db.prepare('SELECT * FROM versions WHERE id = ?');
    this.byNumberStmt = db.prepare('SELECT * FROM versions WHERE base_sha256 = ? AND number = ?');
    this.listStmt = db.prepare('SELECT * FROM versions ORDER BY base_sha256, number');
    this.maxNumberStmt = db.prepare('SELECT MAX(number) AS n FROM versions WHERE base_sha256 = ?');
    this.byJobStmt = db.prepare('SELECT * FROM versions WHERE job_id = ?');
    this.activeStmt = db.prepare(
      'SELECT v.kind, v.model_id, v.version_id, v.activation_id, a.at FROM active_versions v JOIN activations a ON a.id = v.activation_id',
    );
    this.setActiveStmt = db.prepare(
      `INSERT INTO active_versions (kind, model_id, version_id, activation_id) VALUES (@kind, @modelId, @versionId, @activationId)
       ON CONFLICT (kind) DO UPDATE SET model_id = excluded.model_id, version_id = excluded.version_id, activation_id = excluded.activation_id`,
    );
    this.clearActiveStmt = db.prepare('DELETE FROM active_versions WHERE kind = ?');
    this.insertActivationStmt = db.prepare(
      `INSERT INTO activations (kind, model_id, version_id, version_number, had_previous, previous_model_id, previous_version_id,
         previous_number, reason, note, at)
       VALUES (@kind, @modelId, @versionId, @versionNumber, @hadPrevious, @previousModelId, @previousVersionId, @previousNumber,
         @reason, @note, @at)`,
    );
    this.historyStmt = db.prepare('SELECT * FROM activations ORDER BY id DESC LIMIT ?');
    this.lastActivationStmt = db.prepare('SELECT * FROM activations WHERE kind = ? AND undone = 0 ORDER BY id DESC LIMIT 1');
    this.activationStmt = db.prepare('SELECT * FROM activations WHERE id = ?');
  }

  insert(version: NewVersion): StoredVersion {
    const id = Number(
      this.insertStmt.run({
        ...version,
        kinds: JSON.stringify(version.kinds),
        dataset: JSON.stringify(version.dataset),
        metrics: JSON.stringify(version.metrics),
      }).lastInsertRowid,
    );
    return this.get(id)!;
  }

  get(id: number): StoredVersion | undefined {
    const row = this.getStmt.get(id);
    return row && versionFromRow(row);
  }

  byNumber(baseSha256: string, number: number): StoredVersion | undefined {
    const row = this.byNumberStmt.get(baseSha256, number);
    return row && versionFromRow(row);
  }

  byJob(jobId: number): StoredVersion | undefined {
    const row = this.byJobStmt.get(jobId);
    return row && versionFromRow(row);
  }

  list(): StoredVersion[] {
    return this.listStmt.all().map(versionFromRow);
  }

  maxNumber(baseSha256: string): number {
    return this.maxNumberStmt.get(baseSha256)?.n ?? 0;
  }

  setStatus(id: number, status: VersionStatus): void {
    this.db.prepare('UPDATE versions SET status = ? WHERE id = ?').run(status, id);
  }

  setGate(id: number, gate: GateResult, status: VersionStatus): void {
    this.db.prepare('UPDATE versions SET gate = ?, status = ? WHERE id = ?').run(JSON.stringify(gate), status, id);
  }

  setDamaged(id: number, damaged: string | null): void {
    this.db.prepare('UPDATE versions SET damaged = ? WHERE id = ?').run(damaged, id);
  }

  /** A version's row and its history rows' link to it (history keeps the number). */
  delete(id: number): void {
    this.db.prepare('DELETE FROM versions WHERE id = ?').run(id);
  }

  active(): ActiveRow[] {
    return this.activeStmt.all().map((r) => ({ kind: r.kind, modelId: r.model_id, versionId: r.version_id, activationId: r.activation_id, since: r.at }));
  }

  /** Records the activation and makes it what serves its kind (or clears the kind when modelId is null). */
  activate(activation: NewActivation): Activation & { kind: KindKey } {
    const id = Number(
      this.insertActivationStmt.run({
        kind: activation.kind,
        modelId: activation.modelId,
        versionId: activation.versionId,
        versionNumber: activation.versionNumber,
        hadPrevious: activation.previous ? 1 : 0,
        previousModelId: activation.previous?.modelId ?? null,
        previousVersionId: activation.previous?.versionId ?? null,
        previousNumber: activation.previous?.number ?? null,
        reason: activation.reason,
        note: activation.note,
        at: activation.at,
      }).lastInsertRowid,
    );
    if (activation.modelId === null) this.clearActive(activation.kind);
    else this.setActiveStmt.run({ kind: activation.kind, modelId: activation.modelId, versionId: activation.versionId, activationId: id });
    return activationFromRow(this.activationStmt.get(id)!);
  }

  clearActive(kind: KindKey): void {
    this.clearActiveStmt.run(kind);
  }

  markUndone(activationId: number): void {
    this.db.prepare('UPDATE activations SET undone = 1 WHERE id = ?').run(activationId);
  }

  lastActivation(kind: KindKey): (Activation & { kind: KindKey }) | undefined {
    const row = this.lastActivationStmt.get(kind);
    return row && activationFromRow(row);
  }

  history(limit = 200): (Activation & { kind: KindKey })[] {
    return this.historyStmt.all(limit).map(activationFromRow);
  }

  /** Marks a batch's held-out examples (the gate's set); each example is held out at most once, never trained on. */
  holdOut(batchId: number, keys: readonly { artifactId: number; correctionId: number }[]): void {
    const stmt = this.db.prepare('UPDATE batch_examples SET held_out = 1 WHERE batch_id = ? AND artifact_id = ? AND correction_id = ?');
    for (const k of keys) stmt.run(batchId, k.artifactId, k.correctionId);
  }

  /** Every held-out example of these kinds, oldest batch first: the gate's set, the same for every version. */
  heldOut(kinds: readonly string[]): { prompt: string; completion: string; kind: GeneratedKind }[] {
    if (kinds.length === 0) return [];
    return this.db
      .prepare(
        `SELECT b.prompt, b.completion, a.kind FROM batch_examples b JOIN artifacts a ON a.id = b.artifact_id
         WHERE b.held_out = 1 AND a.kind IN (${kinds.map(() => '?').join(', ')}) ORDER BY b.batch_id, b.artifact_id, b.correction_id`,
      )
      .all(...kinds) as { prompt: string; completion: string; kind: GeneratedKind }[];
  }
}
