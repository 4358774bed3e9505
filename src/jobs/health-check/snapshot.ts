import type { Queryable } from '../../platform/db/sql.js';
import type { Finding, JobStatus, Severity } from '../../shared/job.js';
import type { Metrics } from './check.js';

/** Cumulative server counters kept with each snapshot; rates are differences between two. */
export interface Counters {
  /** pg_stat_database.stats_reset: counters are only comparable under the same value. */
  statsReset: string | null;
  transactions: number;
  deadlocks: number;
  blocksHit: number;
  blocksRead: number;
  databaseBytes: number;
  /** pg_stat_statements totals for this database, when it is available. */
  statementCalls: number | null;
  statementMs: number | null;
  statementsReset: string | null;
  /** pg_stat_statements_info.dealloc: entries evicted at pg_stat_statements.max (null before 1.9). */
  statementsDealloc: number | null;
  rollbacks: number;
  tempFiles: number;
  tempBytes: number;
  /** Server-wide (pg_stat_checkpointer on 17+, pg_stat_bgwriter before); reset with their own stats_reset. */
  checkpointsTimed: number;
  checkpointsRequested: number;
  checkpointerReset: string | null;
  /** Total bytes of the largest tables ("schema.table" → bytes), for growth. */
  tableBytes: Record<string, number>;
}

export interface Problem {
  check: string;
  target: string | null;
  severity: Exclude<Severity, 'info'>;
  message: string;
}

export interface StoredSnapshot {
  id: number;
  takenAt: Date;
  counters: Partial<Counters>;
  problems: Problem[];
}

/**
 * The earlier snapshots this run compares with: the latest (what changed, deadlocks since),
 * one at least a minute old (rates over a meaningful interval), one about an hour old (the
 * deadlock rate) and one about a day old (database growth).
 */
export interface SnapshotHistory {
  latest?: StoredSnapshot;
  minuteAgo?: StoredSnapshot;
  hourAgo?: StoredSnapshot;
  dayAgo?: StoredSnapshot;
  /** About a week old (or the oldest there is): the weekly capacity review's growth. */
  weekAgo?: StoredSnapshot;
}

interface SnapshotRow {
  which: 'latest' | 'minute' | 'hour' | 'hour_oldest' | 'day' | 'week' | 'oldest';
  id: string;
  taken_at: Date;
  counters: Partial<Counters>;
  problems: Problem[];
}

export async function loadHistory(db: Queryable, now: Date): Promise<SnapshotHistory> {
  const cols = 'id, taken_at, counters, problems';
  const { rows } = await db.query<SnapshotRow>(
    `(SELECT 'latest' AS which, ${cols} FROM ops.health_snapshot WHERE taken_at <= $1 ORDER BY taken_at DESC LIMIT 1)
     UNION ALL (SELECT 'minute', ${cols} FROM ops.health_snapshot WHERE taken_at <= $1::timestamptz - interval '1 minute' ORDER BY taken_at DESC LIMIT 1)
     UNION ALL (SELECT 'hour', ${cols} FROM ops.health_snapshot WHERE taken_at <= $1::timestamptz - interval '1 hour' ORDER BY taken_at DESC LIMIT 1)
     UNION ALL (SELECT 'hour_oldest', ${cols} FROM ops.health_snapshot WHERE taken_at > $1::timestamptz - interval '1 hour' AND taken_at <= $1 ORDER BY taken_at LIMIT 1)
     UNION ALL (SELECT 'day', ${cols} FROM ops.health_snapshot WHERE taken_at <= $1::timestamptz - interval '1 day' ORDER BY taken_at DESC LIMIT 1)
     UNION ALL (SELECT 'week', ${cols} FROM ops.health_snapshot WHERE taken_at <= $1::timestamptz - interval '7 days' ORDER BY taken_at DESC LIMIT 1)
     UNION ALL (SELECT 'oldest', ${cols} FROM ops.health_snapshot WHERE taken_at <= $1 ORDER BY taken_at LIMIT 1)`,
    [now],
  );
  const by = (w: SnapshotRow['which']): StoredSnapshot | undefined => {
    const r = rows.find((x) => x.which === w);
    return r ? { id: Number(r.id), takenAt: r.taken_at, counters: r.counters, problems: r.problems } : undefined;
  };
  return {
    latest: by('latest'),
    minuteAgo: by('minute'),
    // With less than an hour of history, the oldest snapshot in the hour gives a lower bound.
    hourAgo: by('hour') ?? by('hour_oldest'),
    dayAgo: by('day') ?? by('oldest'),
    weekAgo: by('week') ?? by('oldest'),
  };
}

/** current − base for one counter, or null when there is no base or the counters were reset in between. */
export function counterDelta(
  current: Partial<Counters>,
  base: StoredSnapshot | undefined,
  key: 'transactions' | 'deadlocks' | 'blocksHit' | 'blocksRead' | 'statementCalls' | 'statementMs' | 'rollbacks' | 'tempFiles' | 'tempBytes' | 'checkpointsTimed' | 'checkpointsRequested',
): number | null {
  if (!base) return null;
  const resetKey = key.startsWith('statement') ? 'statementsReset' : key.startsWith('checkpoints') ? 'checkpointerReset' : 'statsReset';
  if ((current[resetKey] ?? null) !== (base.counters[resetKey] ?? null)) return null;
  const a = current[key];
  const b = base.counters[key];
  if (a === null || a === undefined || b === null || b === undefined || a < b) return null;
  return a - b;
}

export const secondsBetween = (later: Date, earlier: Date): number => (later.getTime() - earlier.getTime()) / 1000;

export function problemsOf(findings: readonly Finding[]): Problem[] {
  return findings
    .filter((f): f is Finding & { severity: Problem['severity'] } => f.severity !== 'info')
    .map((f) => ({ check: f.check, target: f.target ?? null, severity: f.severity, message: f.message }));
}

/** The typed columns of ops.health_snapshot, from the metric keys the checks use. */
const typedColumns = {
  connections: 'connections.total',
  database_bytes: 'database-size.bytes',
  transactions_per_second: 'tps.value',
  cache_hit_percent: 'cache-hit.percent',
  avg_query_ms: 'avg-query-time.ms',
  deadlocks: 'deadlocks.since-previous',
  replica_lag_seconds: 'replica.lag-seconds',
  pc_success_percent: 'business.pc-success.percent',
  kos_success_percent: 'business.kos-success.percent',
  avg_processing_seconds: 'business.processing.seconds',
  cpu_percent: 'platform.cpu_percent',
  storage_percent: 'platform.storage_percent',
} as const;

export async function saveSnapshot(
  db: Queryable,
  s: { runId: number | null; takenAt: Date; mode: 'daily' | 'probe'; status: Exclude<JobStatus, 'skipped'>; metrics: Metrics; counters: Partial<Counters>; problems: Problem[] },
): Promise<number> {
  const columns = Object.keys(typedColumns);
  const values = Object.values(typedColumns).map((k) => s.metrics[k] ?? null);
  const base = [s.runId, s.takenAt, s.mode, s.status, s.metrics, s.counters, JSON.stringify(s.problems)];
  const placeholders = [...base, ...values].map((_, i) => `$${i + 1}`).join(', ');
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO ops.health_snapshot (job_run_id, taken_at, mode, status, metrics, counters, problems, ${columns.join(', ')})
     VALUES (${placeholders}) RETURNING id`,
    [...base, ...values],
  );
  return Number(rows[0]?.id);
}

export async function pruneSnapshots(db: Queryable, now: Date, retentionDays: number): Promise<number> {
  const { rowCount } = await db.query(`DELETE FROM ops.health_snapshot WHERE taken_at < $1::timestamptz - make_interval(days => $2)`, [now, retentionDays]);
  return rowCount ?? 0;
}
