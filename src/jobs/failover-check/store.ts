import type { JobDatabase } from '../../shared/job.js';
import type { ServerSnapshot } from './server-state.js';

export type DetectedBy = 'alert' | 'event' | 'timer' | 'drill' | 'manual' | 'promote' | 'switchover';

export interface FailoverEventRow {
  id: number;
  serverName: string;
  detectedBy: DetectedBy;
  signalAt: Date;
  status: 'measuring' | 'resolved' | 'not-writable';
  zoneBefore: string | null;
  standbyZoneBefore: string | null;
  stateBefore: ServerSnapshot | null;
  lastCommitBeforeAt: Date | null;
  firstProbeAt: Date | null;
  probeAttempts: number;
}

interface Row {
  id: string;
  server_name: string;
  detected_by: DetectedBy;
  signal_at: Date;
  status: FailoverEventRow['status'];
  zone_before: string | null;
  standby_zone_before: string | null;
  state_before: ServerSnapshot | null;
  last_commit_before_at: Date | null;
  first_probe_at: Date | null;
  probe_attempts: number;
}

const COLUMNS = 'id, server_name, detected_by, signal_at, status, zone_before, standby_zone_before, state_before, last_commit_before_at, first_probe_at, probe_attempts';
const toEvent = (r: Row): FailoverEventRow => ({
  id: Number(r.id),
  serverName: r.server_name,
  detectedBy: r.detected_by,
  signalAt: r.signal_at,
  status: r.status,
  zoneBefore: r.zone_before,
  standbyZoneBefore: r.standby_zone_before,
  stateBefore: r.state_before,
  lastCommitBeforeAt: r.last_commit_before_at,
  firstProbeAt: r.first_probe_at,
  probeAttempts: r.probe_attempts,
});

export interface Watch {
  state: ServerSnapshot;
  seenAt: Date;
  lastCommitAt: Date | null;
}

export async function readWatch(db: JobDatabase, server: string): Promise<Watch | null> {
  const { rows } = await db.query<{ state: ServerSnapshot; seen_at: Date; last_commit_at: Date | null }>(
    'SELECT state, seen_at, last_commit_at FROM ops.failover_watch WHERE server_name = $1',
    [server],
  );
  const r = rows[0];
  return r ? { state: r.state, seenAt: r.seen_at, lastCommitAt: r.last_commit_at } : null;
}

/** Stores what was seen; `heartbeat` also records this commit's time as the newest dbops commit. */
export async function writeWatch(db: JobDatabase, server: string, state: ServerSnapshot | null, heartbeat: boolean): Promise<void> {
  await db.query(
    `INSERT INTO ops.failover_watch AS w (server_name, state, seen_at, last_commit_at)
     VALUES ($1, coalesce($2::jsonb, '{}'::jsonb), now(), CASE WHEN $3 THEN now() END)
     ON CONFLICT (server_name) DO UPDATE
        SET state = coalesce($2::jsonb, w.state), seen_at = now(),
            last_commit_at = CASE WHEN $3 THEN now() ELSE w.last_commit_at END`,
    [server, state ? JSON.stringify(state) : null, heartbeat],
  );
}

export async function openEvent(db: JobDatabase, server: string): Promise<FailoverEventRow | null> {
  const { rows } = await db.query<Row>(
    `SELECT ${COLUMNS} FROM ops.failover_event WHERE server_name = $1 AND status IN ('measuring', 'not-writable') ORDER BY signal_at DESC LIMIT 1`,
    [server],
  );
  return rows[0] ? toEvent(rows[0]) : null;
}

export async function eventForSignal(db: JobDatabase, signalId: string): Promise<FailoverEventRow | null> {
  const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM ops.failover_event WHERE signal_id = $1`, [signalId]);
  return rows[0] ? toEvent(rows[0]) : null;
}

export async function insertEvent(
  db: JobDatabase,
  e: {
    server: string;
    detectedBy: DetectedBy;
    signalId: string | null;
    signalKind: string | null;
    cause: string | null;
    signalAt: Date;
    detectedAt: Date;
    targetRtoSeconds: number;
    before: ServerSnapshot | null;
    lastCommitBeforeAt: Date | null;
    runId: number | null;
  },
): Promise<FailoverEventRow> {
  const { rows } = await db.query<Row>(
    `INSERT INTO ops.failover_event (server_name, detected_by, signal_id, signal_kind, cause, signal_at, detected_at, target_rto_seconds,
                                     zone_before, standby_zone_before, state_before, last_commit_before_at, run_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     RETURNING ${COLUMNS}`,
    [
      e.server, e.detectedBy, e.signalId, e.signalKind, e.cause, e.signalAt, e.detectedAt, e.targetRtoSeconds,
      e.before?.zone ?? null, e.before?.standbyZone ?? null, e.before ? JSON.stringify(e.before) : null, e.lastCommitBeforeAt, e.runId,
    ],
  );
  return toEvent(rows[0]!);
}

export interface Measurement {
  firstProbeAt: Date;
  writableAt: Date | null;
  probeAttempts: number;
  downtimeMs: number | null;
  downtimeExact: boolean;
  withinTarget: boolean | null;
  after: ServerSnapshot | null;
  lastCommitAfterAt: Date | null;
  replicaState: string | null;
  replicaLagSeconds: number | null;
  status: FailoverEventRow['status'];
  resolution: string;
  runId: number | null;
}

export async function recordMeasurement(db: JobDatabase, id: number, m: Measurement): Promise<void> {
  await db.query(
    `UPDATE ops.failover_event
        SET first_probe_at = coalesce(first_probe_at, $2), writable_at = $3, probe_attempts = probe_attempts + $4,
            downtime_ms = $5, downtime_exact = $6, within_target = $7, zone_after = $8, standby_zone_after = $9,
            state_after = $10, last_commit_after_at = $11, ha_state_after = $12, replica_state_after = $13,
            replica_lag_seconds = $14, status = $15, resolution = $16, run_id = coalesce($17, run_id), updated_at = now()
      WHERE id = $1`,
    [
      id, m.firstProbeAt, m.writableAt, m.probeAttempts, m.downtimeMs, m.downtimeExact, m.withinTarget,
      m.after?.zone ?? null, m.after?.standbyZone ?? null, m.after ? JSON.stringify(m.after) : null, m.lastCommitAfterAt,
      m.after?.haState ?? null, m.replicaState, m.replicaLagSeconds, m.status, m.resolution, m.runId,
    ],
  );
}

export async function markPlatformResolved(db: JobDatabase, id: number, at: Date): Promise<void> {
  await db.query('UPDATE ops.failover_event SET platform_resolved_at = $2, updated_at = now() WHERE id = $1', [id, at]);
}

export interface StoredOperation {
  id: number;
  plan: string;
  serverName: string;
  serialized: string;
  eventId: number | null;
  startedAt: Date;
}

export async function openOperation(db: JobDatabase, plan: string, server: string): Promise<StoredOperation | null> {
  const { rows } = await db.query<{ id: string; plan: string; server_name: string; serialized: string; event_id: string | null; started_at: Date }>(
    'SELECT id, plan, server_name, serialized, event_id, started_at FROM ops.failover_operation WHERE plan = $1 AND server_name = $2 AND finished_at IS NULL',
    [plan, server],
  );
  const r = rows[0];
  return r ? { id: Number(r.id), plan: r.plan, serverName: r.server_name, serialized: r.serialized, eventId: r.event_id ? Number(r.event_id) : null, startedAt: r.started_at } : null;
}

export async function saveOperation(db: JobDatabase, o: { plan: string; server: string; serialized: string; eventId: number | null; startedAt: Date }): Promise<void> {
  await db.query(
    `INSERT INTO ops.failover_operation (plan, server_name, serialized, event_id, started_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (plan, server_name) WHERE finished_at IS NULL DO UPDATE SET serialized = EXCLUDED.serialized`,
    [o.plan, o.server, o.serialized, o.eventId, o.startedAt],
  );
}

export async function finishOperation(db: JobDatabase, id: number, outcome: string): Promise<void> {
  await db.query('UPDATE ops.failover_operation SET finished_at = now(), outcome = $2 WHERE id = $1', [id, outcome]);
}

export async function latestEvent(db: JobDatabase, server: string): Promise<FailoverEventRow | null> {
  const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM ops.failover_event WHERE server_name = $1 ORDER BY signal_at DESC LIMIT 1`, [server]);
  return rows[0] ? toEvent(rows[0]) : null;
}
