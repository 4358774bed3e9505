import type { Queryable } from '../../platform/db/sql.js';
import type { Finding, JobContext } from '../../shared/job.js';

export type RecordKind = 'rehearsal' | 'upgrade';

/** One rehearsal or upgrade, as ops.version_upgrade keeps it between invocations. */
export interface UpgradeRecord {
  id: number;
  kind: RecordKind;
  state: string;
  result: 'passed' | 'failed' | null;
  failure: string | null;
  sourceServer: string;
  serverName: string;
  fromVersion: string;
  targetVersion: string;
  restorePoint: Date;
  operation: string | null;
  startedAt: Date;
  deadlineAt: Date;
  upgradeRequestedAt: Date | null;
  upgradeCompletedAt: Date | null;
  finishedAt: Date | null;
  ticks: number;
  findings: Finding[];
  measurements: Record<string, unknown>;
  details: Record<string, unknown>;
}

const columns = `id::int, kind, state, result, failure, source_server AS "sourceServer", server_name AS "serverName",
  from_version AS "fromVersion", target_version AS "targetVersion", restore_point AS "restorePoint", operation,
  started_at AS "startedAt", deadline_at AS "deadlineAt", upgrade_requested_at AS "upgradeRequestedAt",
  upgrade_completed_at AS "upgradeCompletedAt", finished_at AS "finishedAt", ticks, findings, measurements, details`;

export async function activeRecord(db: Queryable, kind: RecordKind): Promise<UpgradeRecord | null> {
  const { rows } = await db.query<UpgradeRecord>(`SELECT ${columns} FROM ops.version_upgrade WHERE kind = $1 AND state <> 'done'`, [kind]);
  return rows[0] ?? null;
}

export async function latestRecord(db: Queryable, kind: RecordKind, filter: { finished?: boolean; passedTarget?: string } = {}): Promise<UpgradeRecord | null> {
  const where = ['kind = $1'];
  const values: unknown[] = [kind];
  if (filter.finished) where.push(`state = 'done'`);
  if (filter.passedTarget !== undefined) {
    values.push(filter.passedTarget);
    where.push(`state = 'done' AND result = 'passed' AND target_version = $${values.length}`);
  }
  const { rows } = await db.query<UpgradeRecord>(`SELECT ${columns} FROM ops.version_upgrade WHERE ${where.join(' AND ')} ORDER BY started_at DESC, id DESC LIMIT 1`, values);
  return rows[0] ?? null;
}

/**
 * Takes the next id and writes the record before anything is asked of Azure, so the copy's name
 * (or the replica's settings) is never lost; the copy's name carries the id.
 */
export async function startRecord(
  ctx: Pick<JobContext, 'db' | 'runId'>,
  r: Pick<UpgradeRecord, 'kind' | 'state' | 'sourceServer' | 'fromVersion' | 'targetVersion' | 'restorePoint' | 'startedAt' | 'details'> & { serverName: (id: number) => string; deadlineMinutes: number },
): Promise<UpgradeRecord> {
  const next = await ctx.db.query<{ id: number }>(`SELECT nextval(pg_get_serial_sequence('ops.version_upgrade', 'id'))::int AS id`);
  const id = next.rows[0]!.id;
  const deadlineAt = new Date(r.startedAt.getTime() + r.deadlineMinutes * 60_000);
  const { rows } = await ctx.db.query<UpgradeRecord>(
    `INSERT INTO ops.version_upgrade (id, kind, state, source_server, server_name, from_version, target_version, restore_point, started_at, deadline_at, details, started_by_run, last_run)
     OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING ${columns}`,
    [id, r.kind, r.state, r.sourceServer, r.serverName(id), r.fromVersion, r.targetVersion, r.restorePoint, r.startedAt, deadlineAt, JSON.stringify(r.details), ctx.runId],
  );
  return rows[0]!;
}

const fieldColumns = {
  state: 'state',
  result: 'result',
  failure: 'failure',
  operation: 'operation',
  upgradeRequestedAt: 'upgrade_requested_at',
  upgradeCompletedAt: 'upgrade_completed_at',
  finishedAt: 'finished_at',
  findings: 'findings',
  measurements: 'measurements',
  details: 'details',
} as const;
export type RecordChange = Partial<Pick<UpgradeRecord, keyof typeof fieldColumns>>;
const JSON_FIELDS = new Set(['findings', 'measurements', 'details']);

export async function updateRecord(db: Queryable, id: number, change: RecordChange, runId: number | null): Promise<UpgradeRecord> {
  const sets: string[] = [];
  const values: unknown[] = [id, runId];
  for (const [field, value] of Object.entries(change)) {
    const column = fieldColumns[field as keyof typeof fieldColumns];
    values.push(JSON_FIELDS.has(field) ? JSON.stringify(value) : value);
    sets.push(`${column} = $${values.length}`);
  }
  const { rows } = await db.query<UpgradeRecord>(
    `UPDATE ops.version_upgrade SET ${[...sets, 'ticks = ticks + 1', 'last_run = $2', 'updated_at = now()'].join(', ')} WHERE id = $1 RETURNING ${columns}`,
    values,
  );
  return rows[0]!;
}
