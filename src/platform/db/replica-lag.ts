import type { Queryable } from './sql.js';

export interface ReplicaLag {
  /** False when the server is a primary (promoted, or the wrong server configured). */
  inRecovery: boolean;
  /** Seconds since the last replayed transaction; null when not in recovery or nothing was replayed yet. */
  lagSeconds: number | null;
}

export interface ReplicaLagOptions {
  /**
   * Whether a replica that has replayed everything it received counts as current (lag 0): an idle
   * primary sends nothing to replay, so the time since the last replayed transaction grows
   * without the replica falling behind. The health check says yes, failover-check (for now) no.
   */
  idleIsCurrent: boolean;
}

const lagSql = (idleIsCurrent: boolean) => `SELECT pg_is_in_recovery() AS in_recovery,
       CASE WHEN NOT pg_is_in_recovery() THEN NULL
            ${idleIsCurrent ? 'WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0' : ''}
            ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END AS lag_s`;

/** Runs on the replica itself: how far behind the primary it is. The one place replica lag is measured. */
export async function measureReplicaLag(db: Queryable, options: ReplicaLagOptions): Promise<ReplicaLag> {
  const { rows } = await db.query<{ in_recovery: boolean; lag_s: number | null }>(lagSql(options.idleIsCurrent));
  return { inRecovery: rows[0]?.in_recovery ?? false, lagSeconds: rows[0]?.lag_s ?? null };
}
