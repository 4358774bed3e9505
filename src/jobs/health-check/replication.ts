import type { CoreSettings } from '../../shared/config.js';
import { describeTarget, registerUrlPassword, type ConnectionTarget } from '../../platform/db/connection.js';
import { measureReplicaLag } from '../../platform/db/replica-lag.js';
import type { Finding } from '../../shared/job.js';
import { formatBytes, formatDuration, round, toNumber, whenAbove, type CheckResult, type HealthCheck } from './check.js';
import type { HealthCheckSettings } from './settings.js';

type LagThresholds = Pick<HealthCheckSettings, 'replicaLagWarningSeconds' | 'replicaLagCriticalSeconds'>;

/** The finding for a measured replica lag; `null` lag means the replica has replayed nothing yet. */
export function replicaLagFinding(check: string, target: string, lagSeconds: number | null, t: LagThresholds): Finding {
  if (lagSeconds === null) {
    return { check, severity: 'warning', target, message: `${target} has not replayed any transaction since it started: lag unknown`, threshold: t.replicaLagWarningSeconds, unit: 's' };
  }
  const sev = whenAbove(lagSeconds, t.replicaLagWarningSeconds, t.replicaLagCriticalSeconds);
  return {
    check,
    severity: sev,
    target,
    message: `${target} is ${formatDuration(lagSeconds)} behind the primary (target under ${formatDuration(t.replicaLagWarningSeconds)}, critical above ${formatDuration(t.replicaLagCriticalSeconds)})`,
    value: round(lagSeconds, 1),
    threshold: sev === 'critical' ? t.replicaLagCriticalSeconds : t.replicaLagWarningSeconds,
    unit: 's',
    ...(sev !== 'info' ? { remedy: 'check the replica’s CPU and IOPS and long queries on it (they delay replay), and the primary’s write volume' } : {}),
  };
}

/** On the primary: is it writable, and how far behind is each standby streaming from it. */
export const primaryReplicationCheck: HealthCheck = {
  name: 'replication',
  async run(c): Promise<CheckResult> {
    const { rows } = await c.db.query<{ in_recovery: boolean; standbys: Array<{ name: string; client: string | null; state: string; sync_state: string; replay_lag_s: number | null; lag_bytes: string | null }> | null; slots: Array<{ slot_name: string; slot_type: string; retained: string | null }> | null }>(
      `SELECT pg_is_in_recovery() AS in_recovery,
              CASE WHEN NOT pg_is_in_recovery() THEN (
                SELECT json_agg(json_build_object('name', application_name, 'client', client_addr::text, 'state', state, 'sync_state', sync_state,
                                                  'replay_lag_s', extract(epoch FROM replay_lag),
                                                  'lag_bytes', pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)) ORDER BY application_name)
                  FROM pg_stat_replication) END AS standbys,
              CASE WHEN NOT pg_is_in_recovery() THEN (
                SELECT json_agg(json_build_object('slot_name', slot_name, 'slot_type', slot_type,
                                                  'retained', pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)) ORDER BY slot_name)
                  FROM pg_replication_slots WHERE NOT active) END AS slots`,
    );
    const r = rows[0]!;
    if (r.in_recovery) {
      return {
        findings: [{ check: 'replication.primary', severity: 'critical', message: 'the configured primary is in recovery (read-only): DATABASE_URL / DBOPS_PG_HOST points at a standby or replica', remedy: 'point DATABASE_URL / DBOPS_PG_HOST at the primary; after a failover, check failover-check' }],
        metrics: { 'replication.standbys': null },
      };
    }
    const findings: Finding[] = [];
    const standbys = r.standbys ?? [];
    for (const sb of standbys) {
      const name = sb.name || sb.client || 'standby';
      const f = replicaLagFinding('replication.standby-lag', name, sb.replay_lag_s ?? 0, c.settings);
      const bytes = toNumber(sb.lag_bytes);
      findings.push({ ...f, message: `${f.message}; ${sb.state}, ${sb.sync_state}${bytes !== null ? `, ${formatBytes(bytes)} of WAL not yet replayed` : ''}` });
    }
    if (standbys.length === 0) findings.push({ check: 'replication.standby-lag', severity: 'info', message: 'no standby is streaming from this server (on Azure the HA standby may not be visible here)' });
    for (const slot of r.slots ?? []) {
      const retained = toNumber(slot.retained) ?? 0;
      findings.push({
        check: 'replication.inactive-slot',
        severity: 'warning',
        target: slot.slot_name,
        message: `replication slot ${slot.slot_name} (${slot.slot_type}) is inactive and keeps ${formatBytes(retained)} of WAL; storage fills while it stays`,
        value: retained,
        unit: 'bytes',
        remedy: `SELECT pg_drop_replication_slot('${slot.slot_name.replace(/'/g, "''")}') -- if its consumer is gone for good`,
      });
    }
    const maxLag = standbys.reduce<number | null>((m, sb) => Math.max(m ?? 0, sb.replay_lag_s ?? 0), null);
    return { findings, metrics: { 'replication.standbys': standbys.length, 'replication.max-standby-lag-seconds': maxLag === null ? null : round(maxLag, 1) } };
  },
};

export function replicaTarget(core: CoreSettings): ConnectionTarget | null {
  if (core.replicaUrl) {
    registerUrlPassword(core.replicaUrl);
    return { kind: 'url', url: core.replicaUrl };
  }
  if (core.replicaHost && core.pgAuth === 'entra' && core.pgUser) {
    return { kind: 'entra', host: core.replicaHost, port: core.pgPort, database: core.pgDatabase, user: core.pgUser, ssl: core.pgSsl === 'require' };
  }
  return null;
}

/** On the read replica (DBOPS_REPLICA_URL or DBOPS_REPLICA_HOST), through its own short-lived session. */
export const replicaCheck: HealthCheck = {
  name: 'replica',
  async run(c): Promise<CheckResult> {
    const target = replicaTarget(c.core);
    if (!target) {
      return {
        findings: [{ check: 'replica', severity: 'info', message: 'replica lag: no replica configured (set DBOPS_REPLICA_URL, or DBOPS_REPLICA_HOST with Entra sign-in)' }],
        metrics: { 'replica.lag-seconds': null },
      };
    }
    const where = describeTarget(target);
    const replica = { purpose: 'replica', timeouts: { statementTimeoutMs: c.settings.checkTimeoutMs, connectTimeoutSeconds: Math.min(c.core.connectTimeoutSeconds, 10) } };
    return c.withServer(target, replica, async (pool) => {
      const { inRecovery, lagSeconds } = await measureReplicaLag(pool, { idleIsCurrent: true });
      if (!inRecovery) {
        return {
          findings: [{ check: 'replica', severity: 'warning', target: where, message: `the replica ${where} is not in recovery: it is a primary (promoted?) or the setting points at the wrong server`, remedy: 'check DBOPS_REPLICA_URL / DBOPS_REPLICA_HOST; after a promotion, re-create the replica' }],
          metrics: { 'replica.lag-seconds': null },
        };
      }
      return { findings: [replicaLagFinding('replica.lag', where, lagSeconds, c.settings)], metrics: { 'replica.lag-seconds': lagSeconds === null ? null : round(lagSeconds, 1) } };
    });
  },
};
