import type { Queryable } from '../../platform/db/sql.js';

export type OperationState = 'creating' | 'attached' | 'detaching' | 'detached' | 'archived' | 'dropped' | 'gone';
const FINAL: readonly OperationState[] = ['attached', 'dropped', 'gone'];

export interface OpenOperation {
  id: number;
  operation: 'create' | 'retire';
  partitionSchema: string;
  partitionName: string;
  state: OperationState;
  rangeFrom: Date | null;
  rangeTo: Date | null;
  estimatedRows: number | null;
  bytes: number | null;
}

/** ops.partition_operation: one row per partition created or retired, open until finished. */
export class OperationLog {
  constructor(
    private readonly db: Queryable,
    private readonly runId: number | null,
  ) {}

  async open(parent: { schema: string; table: string }): Promise<OpenOperation[]> {
    const { rows } = await this.db.query<{
      id: string;
      operation: 'create' | 'retire';
      partition_schema: string;
      partition_name: string;
      state: OperationState;
      range_from: Date | null;
      range_to: Date | null;
      estimated_rows: string | null;
      bytes: string | null;
    }>(
      `SELECT id, operation, partition_schema, partition_name, state, range_from, range_to, estimated_rows, bytes
         FROM ops.partition_operation
        WHERE parent_schema = $1 AND parent_table = $2 AND finished_at IS NULL
        ORDER BY id`,
      [parent.schema, parent.table],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      operation: r.operation,
      partitionSchema: r.partition_schema,
      partitionName: r.partition_name,
      state: r.state,
      rangeFrom: r.range_from,
      rangeTo: r.range_to,
      estimatedRows: r.estimated_rows === null ? null : Number(r.estimated_rows),
      bytes: r.bytes === null ? null : Number(r.bytes),
    }));
  }

  /** Starts (or takes over) the open operation on a partition. */
  async start(input: {
    parent: { schema: string; table: string };
    partition: { schema: string; name: string };
    operation: 'create' | 'retire';
    state: OperationState;
    from: Date | null;
    to: Date | null;
    estimatedRows?: number;
    bytes?: number;
  }): Promise<number> {
    const { rows } = await this.db.query<{ id: string }>(
      `INSERT INTO ops.partition_operation
              (run_id, parent_schema, parent_table, partition_schema, partition_name, operation, state, range_from, range_to, estimated_rows, bytes)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (partition_schema, partition_name) WHERE finished_at IS NULL
       DO UPDATE SET run_id = EXCLUDED.run_id, updated_at = now()
       RETURNING id`,
      [
        this.runId,
        input.parent.schema,
        input.parent.table,
        input.partition.schema,
        input.partition.name,
        input.operation,
        input.state,
        input.from,
        input.to,
        input.estimatedRows ?? null,
        input.bytes ?? null,
      ],
    );
    return Number(rows[0]!.id);
  }

  async advance(id: number, state: OperationState, extra: { archiveUrl?: string; archivedRows?: number } = {}): Promise<void> {
    await this.db.query(
      `UPDATE ops.partition_operation
          SET state = $2, run_id = coalesce($3, run_id), error = NULL, updated_at = now(),
              archive_url = coalesce($4, archive_url), archived_rows = coalesce($5, archived_rows),
              finished_at = CASE WHEN $2 = ANY ($6::text[]) THEN now() END
        WHERE id = $1`,
      [id, state, this.runId, extra.archiveUrl ?? null, extra.archivedRows ?? null, FINAL],
    );
  }

  async failed(id: number, error: string): Promise<void> {
    await this.db.query(`UPDATE ops.partition_operation SET error = $2, updated_at = now() WHERE id = $1`, [id, error.slice(0, 2000)]);
  }
}
