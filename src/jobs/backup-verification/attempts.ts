import type { Queryable } from '../../platform/db/sql.js';
import type { Finding } from '../../shared/job.js';

export const ATTEMPT_STATES = ['starting', 'restoring', 'verifying', 'deleting', 'done'] as const;
export type AttemptState = (typeof ATTEMPT_STATES)[number];

/** One weekly restore test, as ops.backup_verification keeps it between ticks. */
export interface Attempt {
  id: number;
  state: AttemptState;
  result: 'passed' | 'failed' | null;
  failure: string | null;
  sourceServer: string;
  serverName: string;
  restorePoint: Date;
  operation: string | null;
  operationKind: 'restore' | 'delete' | null;
  startedAt: Date;
  deadlineAt: Date;
  restoreRequestedAt: Date | null;
  restoreCompletedAt: Date | null;
  verifiedAt: Date | null;
  deleteRequestedAt: Date | null;
  deletedAt: Date | null;
  finishedAt: Date | null;
  ticks: number;
  findings: Finding[];
  measurements: Record<string, unknown>;
}

const columns = `id::int, state, result, failure, source_server AS "sourceServer", server_name AS "serverName", restore_point AS "restorePoint",
  operation, operation_kind AS "operationKind", started_at AS "startedAt", deadline_at AS "deadlineAt",
  restore_requested_at AS "restoreRequestedAt", restore_completed_at AS "restoreCompletedAt", verified_at AS "verifiedAt",
  delete_requested_at AS "deleteRequestedAt", deleted_at AS "deletedAt", finished_at AS "finishedAt", ticks, findings, measurements`;

export async function activeAttempt(db: Queryable): Promise<Attempt | null> {
  const { rows } = await db.query<Attempt>(`SELECT ${columns} FROM ops.backup_verification WHERE state <> 'done'`);
  return rows[0] ?? null;
}

export async function latestAttempt(db: Queryable, finished = false): Promise<Attempt | null> {
  const { rows } = await db.query<Attempt>(`SELECT ${columns} FROM ops.backup_verification ${finished ? `WHERE state = 'done'` : ''} ORDER BY started_at DESC, id DESC LIMIT 1`);
  return rows[0] ?? null;
}

export async function nextAttemptId(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ id: number }>(`SELECT nextval(pg_get_serial_sequence('ops.backup_verification', 'id'))::int AS id`);
  return rows[0]!.id;
}

/** Records a new attempt before anything is asked of Azure, so its server name is never lost. */
export async function insertAttempt(
  db: Queryable,
  a: { id: number; sourceServer: string; serverName: string; restorePoint: Date; startedAt: Date; deadlineAt: Date; runId: number | null },
): Promise<Attempt> {
  const { rows } = await db.query<Attempt>(
    `INSERT INTO ops.backup_verification (id, source_server, server_name, restore_point, started_at, deadline_at, started_by_run, last_run)
     OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING ${columns}`,
    [a.id, a.sourceServer, a.serverName, a.restorePoint, a.startedAt, a.deadlineAt, a.runId],
  );
  return rows[0]!;
}

const fieldColumns: Record<string, string> = {
  state: 'state',
  result: 'result',
  failure: 'failure',
  operation: 'operation',
  operationKind: 'operation_kind',
  restoreRequestedAt: 'restore_requested_at',
  restoreCompletedAt: 'restore_completed_at',
  verifiedAt: 'verified_at',
  deleteRequestedAt: 'delete_requested_at',
  deletedAt: 'deleted_at',
  finishedAt: 'finished_at',
  findings: 'findings',
  measurements: 'measurements',
};
export type AttemptChange = Partial<Pick<Attempt, 'state' | 'result' | 'failure' | 'operation' | 'operationKind' | 'restoreRequestedAt' | 'restoreCompletedAt' | 'verifiedAt' | 'deleteRequestedAt' | 'deletedAt' | 'finishedAt' | 'findings' | 'measurements'>>;

export async function updateAttempt(db: Queryable, id: number, change: AttemptChange, runId: number | null): Promise<Attempt> {
  const sets: string[] = [];
  const values: unknown[] = [id, runId];
  for (const [field, value] of Object.entries(change)) {
    const column = fieldColumns[field];
    if (!column) throw new Error(`unknown attempt field ${field}`);
    values.push(field === 'findings' || field === 'measurements' ? JSON.stringify(value) : value);
    sets.push(`${column} = $${values.length}`);
  }
  const { rows } = await db.query<Attempt>(
    `UPDATE ops.backup_verification SET ${[...sets, 'last_run = $2', 'updated_at = now()'].join(', ')} WHERE id = $1 RETURNING ${columns}`,
    values,
  );
  return rows[0]!;
}

/** Counts the tick (a stuck attempt shows as many ticks in one state). */
export async function touchAttempt(db: Queryable, id: number, runId: number | null): Promise<void> {
  await db.query('UPDATE ops.backup_verification SET ticks = ticks + 1, last_run = $2, updated_at = now() WHERE id = $1', [id, runId]);
}
