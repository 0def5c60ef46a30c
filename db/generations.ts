import type { Database, Statement } from 'better-sqlite3';
import { GenerationRecord } from '../shared/contract/artifacts';

interface GenerationRow {
  artifact_id: number;
  provider: 'local' | 'ollama';
  model_id: number | null;
  model_name: string;
  model_hash: string | null;
  adapter_path: string | null;
  adapter_sha256: string | null;
  sampling: string;
  context_size: number | null;
  prompt_tokens: number;
  output_tokens: number;
  duration_ms: number;
  first_token_ms: number | null;
  tokens_per_second: number;
  finish: GenerationRecord['finish'];
  version_id: number | null;
  version_number: number | null;
}

/** The generations table: how each generated artifact was made (pasted ones have no row). */
export class GenerationRepo {
  private readonly insertStmt: Statement<Record<string, unknown>>;
  private readonly getStmt: Statement<[number], GenerationRow>;

  constructor(db: Database) {
    this.insertStmt = db.prepare(
      `INSERT INTO generations (artifact_id, provider, model_id, model_name, model_hash, adapter_path, adapter_sha256, sampling,
         context_size, prompt_tokens, output_tokens, duration_ms, first_token_ms, tokens_per_second, finish, version_id)
       VALUES (@artifactId, @provider, @modelId, @modelName, @modelHash, @adapterPath, @adapterSha256, @sampling,
         @contextSize, @promptTokens, @outputTokens, @durationMs, @firstTokenMs, @tokensPerSecond, @finish, @versionId)`,
    );
    this.getStmt = db.prepare('SELECT g.*, v.number AS version_number FROM generations g LEFT JOIN versions v ON v.id = g.version_id WHERE g.artifact_id = ?');
  }

  insert(artifactId: number, record: GenerationRecord): void {
    this.insertStmt.run({
      artifactId,
      provider: record.provider,
      modelId: record.modelId,
      modelName: record.modelName,
      modelHash: record.modelHash,
      adapterPath: record.adapter?.path ?? null,
      adapterSha256: record.adapter?.sha256 ?? null,
      sampling: JSON.stringify(record.sampling),
      contextSize: record.contextSize,
      promptTokens: record.promptTokens,
      outputTokens: record.outputTokens,
      durationMs: record.durationMs,
      firstTokenMs: record.firstTokenMs,
      tokensPerSecond: record.tokensPerSecond,
      finish: record.finish,
      versionId: record.version?.id ?? null,
    });
  }

  get(artifactId: number): GenerationRecord | null {
    const row = this.getStmt.get(artifactId);
    if (!row) return null;
    return GenerationRecord.parse({
      provider: row.provider,
      modelId: row.model_id,
      modelName: row.model_name,
      modelHash: row.model_hash,
      adapter: row.adapter_path === null ? null : { path: row.adapter_path, sha256: row.adapter_sha256 },
      version: row.version_id === null || row.version_number === null ? null : { id: row.version_id, number: row.version_number },
      sampling: JSON.parse(row.sampling) as unknown,
      contextSize: row.context_size,
      promptTokens: row.prompt_tokens,
      outputTokens: row.output_tokens,
      durationMs: row.duration_ms,
      firstTokenMs: row.first_token_ms,
      tokensPerSecond: row.tokens_per_second,
      finish: row.finish,
    });
  }
}
