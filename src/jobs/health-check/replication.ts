import type { CoreSettings } from '../../shared/config.js';
import { describeTarget, registerUrlPassword, type ConnectionTarget } from '../../platform/db/connection.js';
import { measureReplicaLag, type ReplicaLag } from '../../platform/db/replica-lag.js';
import type { Finding, Severity } from '../../shared/job.js';
import { formatBytes, formatDuration, round, toNumber, whenAbove, type CheckResult, type HealthCheck } from './check.js';
import type { HealthCheckSettings } from './settings.js';

type LagThresholds = Pick<HealthCheckSettings, 'replicaLagWarningSeconds' | 'replicaLagCriticalSeconds' | 'replicaLagWarningBytes' | 'replicaLagCriticalBytes'>;

const worse = (a: Severity, b: Severity): Severity => (a === 'critical' || b === 'critical' ? 'critical' : a === 'warning' || b === 'warning' ? 'warning' : 'info');

/** The finding for a replica's measured lag (platform/db/replica-lag.ts): time, bytes and the WAL receiver's state. */
export function replicaLagFinding(check: string, target: string, lag: ReplicaLag, t: LagThresholds): Finding {
  const bytes = lag.bytesBehind;
  const bytesText = bytes !== null ? `; ${formatBytes(bytes)} of the primary’s WAL not yet replayed` : '';
  const details = {
    condition: lag.condition,
    receiverStatus: lag.state.receiverStatus,
    lastMessageAgeSeconds: lag.state.lastMessageAgeSeconds === null ? null : round(lag.state.lastMessageAgeSeconds, 1),
    receivedLsn: lag.state.receivedLsn,
    replayedLsn: lag.state.replayedLsn,
    bytesBehind: bytes,
    hotStandbyFeedback: lag.state.hotStandbyFeedback,
  };
  if (lag.condition === 'stopped') {
    const missing = bytes === null || bytes > 0;
    return {
      check,
      severity: missing ? 'critical' : 'warning',
      target,
      message: `${target}: ${lag.explanation}${lag.lagSeconds !== null && lag.lagSeconds > 0 ? `; last replayed transaction ${formatDuration(lag.lagSeconds)} ago` : ''}${bytesText}`,
      ...(lag.lagSeconds !== null ? { value: round(lag.lagSeconds, 1), unit: 's' } : {}),
      threshold: t.replicaLagWarningSeconds,
      remedy: 'on the replica: SELECT * FROM pg_stat_wal_receiver, and its server log for "could not connect to the primary server"; check primary_conninfo, the network path and that the primary still has the WAL (pg_replication_slots.wal_status)',
      details,
    };
  }
  if (lag.lagSeconds === null) {
    return { check, severity: 'warning', target, message: `${target} has not replayed any transaction since it started: lag unknown${bytesText}`, threshold: t.replicaLagWarningSeconds, unit: 's', details };
  }
  const bySeconds = whenAbove(lag.lagSeconds, t.replicaLagWarningSeconds, t.replicaLagCriticalSeconds);
  const sev = worse(lag.condition === 'silent' ? worse(bySeconds, 'warning') : bySeconds, bytes !== null ? whenAbove(bytes, t.replicaLagWarningBytes, t.replicaLagCriticalBytes) : 'info');
  return {
    check,
    severity: sev,
    target,
    message: `${target} is ${formatDuration(lag.lagSeconds)} behind the primary (${lag.explanation}; target under ${formatDuration(t.replicaLagWarningSeconds)}, critical above ${formatDuration(t.replicaLagCriticalSeconds)})${bytesText}`,
    value: round(lag.lagSeconds, 1),
    threshold: sev === 'critical' ? t.replicaLagCriticalSeconds : t.replicaLagWarningSeconds,
    unit: 's',
    ...(sev !== 'info' ? { remedy: lag.condition === 'silent' ? 'the replica is connected but hears nothing: check the primary is up and the network between them' : 'check the replica’s CPU and IOPS and long queries on it (they delay replay), and the primary’s write volume' } : {}),
    details,
  };
}

interface StandbyRow { name: string; client: string | null; state: string; sync_state: string; replay_lag_s: number | null; lag_bytes: number | null }
interface SlotRow { slot_name: string; slot_type: string; active: boolean; wal_status: string | null; safe_wal_size: number | null; retained: number | null; xmin_age: number | null; catalog_xmin_age: number | null }

/** On the primary: is it writable, how far behind is each standby streaming from it, and what its slots keep. */
export const primaryReplicationCheck: HealthCheck = {
  name: 'replication',
  async run(c): Promise<CheckResult> {
    const { rows } = await c.db.query<{ in_recovery: boolean; standbys: StandbyRow[] | null; slots: SlotRow[] | null }>(
      `SELECT pg_is_in_recovery() AS in_recovery,
              CASE WHEN NOT pg_is_in_recovery() THEN (
                SELECT json_agg(json_build_object('name', application_name, 'client', client_addr::text, 'state', state, 'sync_state', sync_state,
                                                  'replay_lag_s', extract(epoch FROM replay_lag),
                                                  'lag_bytes', pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)) ORDER BY application_name)
                  FROM pg_stat_replication) END AS standbys,
              CASE WHEN NOT pg_is_in_recovery() THEN (
                SELECT json_agg(json_build_object('slot_name', slot_name, 'slot_type', slot_type, 'active', active,
                                                  'wal_status', wal_status, 'safe_wal_size', safe_wal_size,
                                                  'retained', pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn),
                                                  'xmin_age', age(xmin), 'catalog_xmin_age', age(catalog_xmin)) ORDER BY slot_name)
                  FROM pg_replication_slots) END AS slots`,
    );
    const r = rows[0]!;
    if (r.in_recovery) {
      return {
        findings: [{ check: 'replication.primary', severity: 'critical', message: 'the configured primary is in recovery (read-only): DATABASE_URL / DBOPS_PG_HOST points at a standby or replica', remedy: 'point DATABASE_URL / DBOPS_PG_HOST at the primary; after a failover, check failover-check' }],
        metrics: { 'replication.standbys': null },
      };
    }
    const s = c.settings;
    const findings: Finding[] = [];
    const standbys = r.standbys ?? [];
    for (const sb of standbys) {
      const name = sb.name || sb.client || 'standby';
      const seconds = sb.replay_lag_s ?? 0;
      const bytes = toNumber(sb.lag_bytes);
      const sev = worse(sb.state === 'streaming' ? 'info' : 'warning', worse(whenAbove(seconds, s.replicaLagWarningSeconds, s.replicaLagCriticalSeconds), bytes !== null ? whenAbove(bytes, s.replicaLagWarningBytes, s.replicaLagCriticalBytes) : 'info'));
      findings.push({
        check: 'replication.standby-lag',
        severity: sev,
        target: name,
        message: `${name} is ${formatDuration(seconds)} behind (replay_lag; empty once an idle standby has caught up); ${sb.state}, ${sb.sync_state}${bytes !== null ? `, ${formatBytes(bytes)} of WAL not yet replayed (warning above ${formatBytes(s.replicaLagWarningBytes)})` : ''}`,
        value: round(seconds, 1),
        threshold: s.replicaLagWarningSeconds,
        unit: 's',
        ...(sev !== 'info' ? { remedy: sb.state === 'streaming' ? 'check the standby’s CPU and IOPS and long queries on it, and the primary’s write volume' : `the standby is ${sb.state}, not streaming: it is catching up from archived WAL or starting; watch that it reaches streaming` } : {}),
        details: { bytesBehind: bytes, state: sb.state, syncState: sb.sync_state },
      });
    }
    if (standbys.length === 0) findings.push({ check: 'replication.standby-lag', severity: 'info', message: 'no standby is streaming from this server (on Azure the HA standby may not be visible here)' });
    for (const slot of r.slots ?? []) findings.push(...slotFindings(slot, s));
    const maxLag = standbys.reduce<number | null>((m, sb) => Math.max(m ?? 0, sb.replay_lag_s ?? 0), null);
    const maxBytes = standbys.reduce<number | null>((m, sb) => Math.max(m ?? 0, toNumber(sb.lag_bytes) ?? 0), null);
    const retained = (r.slots ?? []).reduce<number | null>((m, sl) => Math.max(m ?? 0, toNumber(sl.retained) ?? 0), null);
    return {
      findings,
      metrics: {
        'replication.standbys': standbys.length,
        'replication.max-standby-lag-seconds': maxLag === null ? null : round(maxLag, 1),
        'replication.max-standby-lag-bytes': maxBytes,
        'replication.slots': (r.slots ?? []).length,
        'replication.max-slot-retained-bytes': retained,
      },
    };
  },
};

/** A slot's wal_status (v13+): reserved / extended are within max_wal_size / beyond it; unreserved will lose WAL at the next checkpoint; lost has. */
function slotFindings(slot: SlotRow, s: HealthCheckSettings): Finding[] {
  const out: Finding[] = [];
  const retained = toNumber(slot.retained) ?? 0;
  const safe = toNumber(slot.safe_wal_size);
  const drop = `SELECT pg_drop_replication_slot('${slot.slot_name.replace(/'/g, "''")}') -- if its consumer is gone for good`;
  const details = { active: slot.active, walStatus: slot.wal_status, safeWalSize: safe, retainedBytes: retained, xminAge: slot.xmin_age, catalogXminAge: slot.catalog_xmin_age };
  if (slot.wal_status === 'lost' || slot.wal_status === 'unreserved') {
    out.push({
      check: 'replication.slot-wal',
      severity: 'critical',
      target: slot.slot_name,
      message: slot.wal_status === 'lost'
        ? `replication slot ${slot.slot_name} has lost WAL its consumer still needs (wal_status lost): the consumer cannot continue and must be re-created`
        : `replication slot ${slot.slot_name} keeps more WAL than max_slot_wal_keep_size allows (wal_status unreserved): the next checkpoint removes WAL its consumer needs`,
      value: retained,
      unit: 'bytes',
      remedy: slot.wal_status === 'lost' ? `${drop}; re-create the replica or subscriber` : 'bring the consumer back now, or accept re-creating it',
      details,
    });
  } else if (safe !== null && safe < s.slotSafeWalWarningBytes) {
    out.push({
      check: 'replication.slot-wal',
      severity: 'warning',
      target: slot.slot_name,
      message: `replication slot ${slot.slot_name} can fall only ${formatBytes(Math.max(0, safe))} further behind before it loses WAL (safe_wal_size; warning below ${formatBytes(s.slotSafeWalWarningBytes)})`,
      value: safe,
      threshold: s.slotSafeWalWarningBytes,
      unit: 'bytes',
      remedy: 'bring the consumer back or speed it up; raise max_slot_wal_keep_size if storage allows',
      details,
    });
  }
  if (!slot.active) {
    out.push({
      check: 'replication.inactive-slot',
      severity: 'warning',
      target: slot.slot_name,
      message: `replication slot ${slot.slot_name} (${slot.slot_type}) is inactive and keeps ${formatBytes(retained)} of WAL${slot.wal_status ? ` (wal_status ${slot.wal_status})` : ''}; storage fills while it stays${slot.xmin_age !== null || slot.catalog_xmin_age !== null ? ', and its xmin holds back vacuum and freezing' : ''}`,
      value: retained,
      unit: 'bytes',
      remedy: drop,
      details,
    });
  }
  return out;
}

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
    return c.withServer(target, replica, async (pool): Promise<CheckResult> => {
      const lag = await measureReplicaLag(pool, { primary: c.db, silentAfterSeconds: c.settings.replicaLagWarningSeconds });
      if (!lag.inRecovery) {
        return {
          findings: [{ check: 'replica', severity: 'warning', target: where, message: `the replica ${where} is not in recovery: it is a primary (promoted?) or the setting points at the wrong server`, remedy: 'check DBOPS_REPLICA_URL / DBOPS_REPLICA_HOST; after a promotion, re-create the replica' }],
          metrics: { 'replica.lag-seconds': null },
        };
      }
      const findings = [replicaLagFinding('replica.lag', where, lag, c.settings)];
      if (lag.state.hotStandbyFeedback) {
        findings.push({ check: 'replica.hot-standby-feedback', severity: 'info', target: where, message: `hot_standby_feedback is on at ${where}: its long queries hold back the primary’s xmin horizon (vacuum and freezing); see the xmin-horizon check` });
      }
      return {
        findings,
        metrics: { 'replica.lag-seconds': lag.lagSeconds === null ? null : round(lag.lagSeconds, 1), 'replica.lag-bytes': lag.bytesBehind, 'replica.streaming': lag.state.receiverStatus === 'streaming' ? 1 : 0 },
      };
    });
  },
};
