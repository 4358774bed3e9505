import type { AzureServices } from '../../platform/azure/index.js';
import type { ConnectionTarget } from '../../platform/db/connection.js';
import type { Finding, JobContext } from '../../shared/job.js';
import { getNotify } from '../../notify/notifier.js';
import { qualified } from '../../platform/db/sql.js';
import { PLAN_SCHEMA, PLAN_TABLES } from '../../shared/plan.js';
import { errorMessage } from '../../platform/redact.js';
import type { SettingsOf } from '../../platform/settings.js';
import { probeWritable } from './probe.js';
import { readReplica, replicaFindings } from './replica.js';
import { describeSnapshot, haHealthy, readSnapshot, type ServerSnapshot } from './server-state.js';
import type { failoverSettings } from './settings.js';
import { readWatch, recordMeasurement, writeWatch, type FailoverEventRow } from './store.js';

export type FailoverSettings = SettingsOf<typeof failoverSettings>;

export const seconds = (ms: number) => Math.round(ms / 100) / 10;

/** The finding that opens a failover alert; its info twin at the end of the run closes it with the figures. */
export function detectedFinding(server: string, cause: string, signalAt: Date): Finding {
  return {
    check: 'failover.detected',
    severity: 'critical',
    target: server,
    message: `Failover or outage on ${server}: ${cause} (signalled ${signalAt.toISOString()}); measuring until the primary accepts writes`,
  };
}

/** Sends the opening alert now, on every failover channel; the run's report brings the resolution. */
export async function notifyStarted(ctx: JobContext, finding: Finding): Promise<boolean> {
  const notify = getNotify(ctx.services);
  if (!notify || ctx.dryRun) return false;
  const records = await notify.sendNow([finding], { job: ctx.job, runId: ctx.runId, db: ctx.db, log: ctx.log });
  return records.some((r) => r.status === 'sent' && r.channel !== 'log');
}

export interface MeasureOutcome {
  findings: Finding[];
  summary: string;
  critical: boolean;
  data: Record<string, unknown>;
  after: ServerSnapshot | null;
}

/**
 * Probes until the primary is writable (fresh connections, back-off, bounded), then reads what
 * moved: ARM state, zones, the replica, the newest commit. Records it on the event and returns
 * the findings: the info `failover.detected` that resolves the opening alert with the figures,
 * and conditions that stay open until fixed (HA not healthy in time, replica behind, still not writable).
 */
export async function measureEvent(
  ctx: JobContext,
  azure: AzureServices,
  s: FailoverSettings,
  event: FailoverEventRow,
  options: { probeTarget: ConnectionTarget; targetSeconds: number; label: string },
): Promise<MeasureOutcome> {
  const server = event.serverName;
  const probe = await probeWritable({
    target: options.probeTarget,
    withServer: ctx.withServer,
    timeoutMs: s.probeTimeoutSeconds * 1000,
    maxDelayMs: s.probeMaxDelaySeconds * 1000,
    connectTimeoutSeconds: Math.min(ctx.settings.connectTimeoutSeconds, 10),
    log: ctx.log,
    signal: ctx.signal,
    now: ctx.now,
  });
  let after: ServerSnapshot | null = null;
  let armProblem: string | null = null;
  try {
    after = await readSnapshot(azure, server);
  } catch (err) {
    armProblem = errorMessage(err);
  }
  const replica = await readReplica(azure, ctx.withServer, ctx.settings.replicaUrl, ctx.settings.connectTimeoutSeconds, ctx.db);
  const findings: Finding[] = [];
  const zoneMove = `zone ${event.zoneBefore ?? '?'} → ${after?.zone ?? '?'}`;

  if (!probe.writable) {
    const waited = seconds(ctx.now().getTime() - event.signalAt.getTime());
    const resolution = `${server} still not writable ${waited} s after the signal (${probe.attempts} attempts; last error: ${probe.lastError ?? 'none'}); the next run keeps measuring`;
    await recordMeasurement(ctx.db, event.id, {
      firstProbeAt: probe.firstAttemptAt, writableAt: null, probeAttempts: probe.attempts, downtimeMs: null, downtimeExact: false, withinTarget: false,
      after, lastCommitAfterAt: null, replicaState: replica.snapshot?.replicationState ?? null, replicaLagSeconds: replica.lagSeconds, status: 'not-writable', resolution, runId: ctx.runId,
    });
    findings.push({ ...detectedFinding(server, options.label, event.signalAt), message: resolution, value: waited, threshold: options.targetSeconds, unit: 's' });
    findings.push({
      check: 'failover.not-writable',
      severity: 'critical',
      target: server,
      message: `${server} does not accept writes ${waited} s after the ${options.label}: ${probe.lastError ?? 'unknown error'}`,
      value: waited,
      threshold: options.targetSeconds,
      unit: 's',
      remedy: azure.settings.replicaName ? `dbops run failover-check --param plan=promote-replica (region failover runbook, plan 5.2.3)` : undefined,
    });
    return { findings, summary: resolution, critical: true, data: { eventId: event.id, probe }, after };
  }

  const writableAt = probe.writableAt!;
  const downtimeMs = Math.max(0, writableAt.getTime() - event.signalAt.getTime());
  // Only a probe that saw the outage pins the end of it; otherwise the server was already back.
  const exact = probe.sawOutage || (event.probeAttempts > 0);
  const within = downtimeMs <= options.targetSeconds * 1000;
  // The newest commit that survived: the server's own commit timestamp if tracked, else dbops's
  // heartbeat (the last poll's committed write) as it reads on the new primary.
  const watch = await readWatch(ctx.db, server).catch(() => null);
  const lastCommitAfterAt = probe.lastCommitAt ?? watch?.lastCommitAt ?? null;
  const lostMs = event.lastCommitBeforeAt && lastCommitAfterAt ? Math.max(0, event.lastCommitBeforeAt.getTime() - lastCommitAfterAt.getTime()) : null;
  const replicaText = replica.name
    ? `replica ${replica.name} ${replica.snapshot ? `${replica.snapshot.state ?? '?'}/${replica.snapshot.replicationState ?? '?'}` : 'unreadable'}${replica.lagSeconds !== null ? `, lag ${Math.round(replica.lagSeconds)} s` : ''}`
    : 'no replica configured';
  const resolution =
    `${options.label} on ${server}: writable again ${exact ? 'after' : 'within'} ${seconds(downtimeMs)} s ` +
    `(target ${options.targetSeconds} s, ${within ? 'met' : 'MISSED'}); ${zoneMove}; HA ${after?.haState ?? armProblem ?? '?'}; ${replicaText}` +
    (lostMs !== null ? `; newest commit before ${event.lastCommitBeforeAt!.toISOString()}, after ${lastCommitAfterAt!.toISOString()}${lostMs > 0 ? ` (up to ${seconds(lostMs)} s of commits missing)` : ' (none lost)'}` : '');
  await recordMeasurement(ctx.db, event.id, {
    firstProbeAt: probe.firstAttemptAt, writableAt, probeAttempts: probe.attempts, downtimeMs, downtimeExact: exact, withinTarget: within,
    after, lastCommitAfterAt, replicaState: replica.snapshot?.replicationState ?? null, replicaLagSeconds: replica.lagSeconds, status: 'resolved', resolution, runId: ctx.runId,
  });
  await writeWatch(ctx.db, server, after, true);

  // Resolves the opening alert with the measured figures (an info finding under its key).
  findings.push({
    check: 'failover.detected',
    severity: 'info',
    target: server,
    message: resolution,
    value: seconds(downtimeMs),
    threshold: options.targetSeconds,
    unit: 's',
    details: { eventId: event.id, downtimeExact: exact, zoneBefore: event.zoneBefore, zoneAfter: after?.zone ?? null, attempts: probe.attempts },
  });
  findings.push(...haFindings(ctx, s, server, event.signalAt, after));
  findings.push(...replicaFindings(replica, s.replicaLagWarningSeconds));
  findings.push(...(await openedBreakers(ctx, event.signalAt)));
  if (armProblem) findings.push({ check: 'failover.arm', severity: 'warning', target: server, message: `server state could not be read from ARM: ${armProblem}` });
  return {
    findings,
    summary: resolution,
    critical: !within,
    after,
    data: {
      eventId: event.id,
      downtimeSeconds: seconds(downtimeMs),
      downtimeExact: exact,
      targetSeconds: options.targetSeconds,
      withinTarget: within,
      probeAttempts: probe.attempts,
      writableAt: writableAt.toISOString(),
      signalAt: event.signalAt.toISOString(),
      after: after ? describeSnapshot(after) : null,
      lastCommitBeforeAt: event.lastCommitBeforeAt?.toISOString() ?? null,
      lastCommitAfterAt: lastCommitAfterAt?.toISOString() ?? null,
      replica: { name: replica.name, state: replica.snapshot?.state ?? null, replicationState: replica.snapshot?.replicationState ?? null, lagSeconds: replica.lagSeconds },
    },
  };
}

/** HA must be Healthy again (new standby built) within N minutes of the failover. */
export function haFindings(ctx: JobContext, s: FailoverSettings, server: string, since: Date, after: ServerSnapshot | null): Finding[] {
  if (!after || haHealthy(after)) return [];
  const minutes = (ctx.now().getTime() - since.getTime()) / 60_000;
  if (minutes < s.haHealthyMinutes) return [];
  return [
    {
      check: 'failover.ha-not-healthy',
      severity: 'critical',
      target: server,
      message: `high availability of ${server} is ${after.haState} ${Math.round(minutes)} min after the failover: no standby to fail over to`,
      value: Math.round(minutes),
      threshold: s.haHealthyMinutes,
      unit: 'min',
    },
  ];
}

/**
 * Circuit breakers the application opened around the outage: it keeps failing fast on them until
 * their half-open probe succeeds. Reported, never reset: closing one is the application's call.
 */
async function openedBreakers(ctx: JobContext, since: Date): Promise<Finding[]> {
  try {
    const { rows } = await ctx.db.query<{ service_name: string; state: string; state_changed_at: Date; failure_count: number }>(
      `SELECT service_name, state, state_changed_at, failure_count FROM ${qualified(PLAN_SCHEMA, PLAN_TABLES.circuitBreaker)}
        WHERE state <> 'CLOSED' AND state_changed_at >= $1::timestamptz - interval '5 minutes'`,
      [since],
    );
    return rows.map((r) => ({
      check: 'failover.circuit-breaker',
      severity: 'warning' as const,
      target: r.service_name,
      message: `circuit breaker ${r.service_name} went ${r.state} at ${r.state_changed_at.toISOString()} during the outage (${r.failure_count} failures); the application fails fast on it until its half-open probe succeeds`,
      value: r.state,
    }));
  } catch (err) {
    ctx.log.debug('circuit breakers not read', { error: errorMessage(err) });
    return [];
  }
}
