import { z } from 'zod';
import { azureRequires, getAzure, type AzureServices } from '../../platform/azure/index.js';
import type { ConnectionTarget } from '../../platform/db/connection.js';
import type { NormalizedSignal } from '../../events/normalize.js';
import { defineJob, type Finding, type JobContext, type JobOutcome } from '../../shared/job.js';
import { errorMessage } from '../../platform/redact.js';
import { readSettings } from '../../platform/settings.js';
import { detectedFinding, haFindings, measureEvent, notifyStarted, type FailoverSettings } from './measure.js';
import { runRunbook } from './runbook.js';
import { changesSince, describeSnapshot, readSnapshot, type ServerSnapshot } from './server-state.js';
import { failoverSettings } from './settings.js';
import { eventForSignal, insertEvent, latestEvent, markPlatformResolved, openEvent, readWatch, writeWatch, type DetectedBy } from './store.js';
import { manifest } from './manifest.js';

const params = z
  .object({
    plan: z.enum(['check', 'promote-replica', 'switchover', 'drill'], { message: 'plan is check, promote-replica, switchover or drill' }).default('check').describe('what to do'),
    confirm: z.string().min(1).optional().describe('the server the runbook acts on (replica for promote/switchover, primary for drill); without it the runbook only plans'),
    option: z.enum(['planned', 'forced']).optional().describe('promote option; default planned, forced when the primary is not Ready'),
    source: z.enum(['manual', 'signal', 'timer']).default('manual').describe('who started the check'),
    signalId: z.string().min(1).optional(),
    signalKind: z.string().min(1).optional(),
    condition: z.string().nullable().optional().describe('Fired or Resolved, for alerts'),
    time: z.string().nullable().optional().describe('when the signal says it happened (ISO 8601)'),
    resource: z.string().nullable().optional(),
    cause: z.string().nullable().optional(),
  })
  .strict();
type Params = z.infer<typeof params>;

/** Plan 5.2.2 / 8.2.2 steps 4–5 / 10.2.1: react to failovers, measure them, guide a region failover. */
export const failoverCheck = defineJob({
  ...manifest,
  params,
  settings: failoverSettings,
  requires: azureRequires('server'),
  long: true,
  fromSignal: (signal: NormalizedSignal) => ({
    source: 'signal',
    signalId: signal.id,
    signalKind: signal.kind,
    condition: signal.health?.condition ?? null,
    time: signal.time,
    resource: signal.resourceId,
    cause: causeOf(signal),
  }),
  async run(ctx, p) {
    const s = readSettings(failoverSettings, ctx.env);
    const { azure, missing } = getAzure(ctx.services, 'server');
    if (!azure) return { status: 'skipped', summary: `Azure not configured: set ${missing.join(', ')}` };
    if (p.plan !== 'check') return runRunbook(ctx, azure, s, { plan: p.plan, confirm: p.confirm, option: p.option });
    return check(ctx, azure, s, p);
  },
});

function causeOf(signal: NormalizedSignal): string {
  if (signal.health) {
    const h = signal.health;
    return `Resource Health ${h.previous ?? '?'} → ${h.current ?? '?'}${h.title ? ` (${h.title}${h.cause ? `, ${h.cause}` : ''})` : ''}`;
  }
  if (signal.operation) return `${signal.operation.name}${signal.operation.status ? ` ${signal.operation.status}` : ''}`;
  return signal.eventType;
}

const probeTargetOf = (ctx: JobContext, s: FailoverSettings): ConnectionTarget => (s.probeUrl ? { kind: 'url', url: s.probeUrl } : ctx.db.target);

/** The server a signal is about: the replica when it names it, else the primary. */
function serverOf(azure: AzureServices, resource: string | null | undefined): string {
  const name = resource?.split('/').filter(Boolean).pop()?.toLowerCase();
  const replica = azure.settings.replicaName;
  return replica && name === replica.toLowerCase() ? replica : azure.postgres.coordinates.serverName;
}

async function check(ctx: JobContext, azure: AzureServices, s: FailoverSettings, p: Params): Promise<JobOutcome> {
  const server = p.source === 'signal' ? serverOf(azure, p.resource) : azure.postgres.coordinates.serverName;
  const watch = await readWatch(ctx.db, server);
  let current: ServerSnapshot | null = null;
  let armProblem: string | null = null;
  try {
    current = await readSnapshot(azure, server);
  } catch (err) {
    armProblem = errorMessage(err);
  }
  const open = await openEvent(ctx.db, server);
  const signalAt = p.time && !Number.isNaN(new Date(p.time).getTime()) ? new Date(p.time) : ctx.now();
  const resolved = p.condition === 'Resolved';

  if (p.source === 'signal' && p.signalId && (await eventForSignal(ctx.db, p.signalId))) {
    return { status: 'skipped', summary: `signal ${p.signalId} was already measured (event recorded); nothing to do` };
  }

  // Continue an event a previous run could not finish (still not writable then).
  if (open) {
    if (resolved) await markPlatformResolved(ctx.db, open.id, signalAt);
    return finish(ctx, azure, s, open, `failover on ${server}`);
  }

  if (p.source === 'signal' && resolved) {
    const last = await latestEvent(ctx.db, server);
    if (last && signalAt.getTime() - last.signalAt.getTime() < 24 * 3600_000) {
      await markPlatformResolved(ctx.db, last.id, signalAt);
      return { summary: `Resource Health reports ${server} available again at ${signalAt.toISOString()}; the failover it closes (event ${last.id}) was already measured and resolved.`, data: { eventId: last.id } };
    }
    // The Fired alert never reached us: measure now, alert and resolve in one run.
  }

  let detectedBy: DetectedBy | null = null;
  let cause = p.cause ?? 'state change';
  if (p.source === 'signal') {
    // A plain server write (tags, parameters) is not a failover unless something moved.
    if (p.signalKind === 'resource.write' && current && changesSince(watch?.state ?? null, current).length === 0) {
      await writeWatch(ctx.db, server, current, true);
      return { summary: `${p.cause ?? 'server write'} on ${server} moved nothing: ${describeSnapshot(current)}`, data: { state: current } };
    }
    detectedBy = p.signalKind === 'resource-health.alert' ? 'alert' : 'event';
  } else if (current) {
    const moved = changesSince(watch?.state ?? null, current).filter((c) => !c.startsWith('HA '));
    if (moved.length > 0) {
      detectedBy = p.source === 'timer' ? 'timer' : 'manual';
      cause = `${p.source === 'timer' ? 'poll' : 'manual check'} saw ${moved.join(', ')}`;
    }
  }

  if (!detectedBy) {
    // Nothing happened: record the heartbeat and report the conditions that stay open.
    const findings: Finding[] = [];
    if (current) {
      const last = await latestEvent(ctx.db, server);
      findings.push(...haFindings(ctx, s, server, last?.signalAt ?? watch?.seenAt ?? ctx.now(), current));
      await writeWatch(ctx.db, server, current, true);
    } else {
      findings.push({ check: 'failover.arm', severity: 'warning', target: server, message: `server state could not be read from ARM: ${armProblem}` });
    }
    return { summary: current ? `No failover: ${describeSnapshot(current)}` : `Server state unknown: ${armProblem}`, findings, data: { state: current } };
  }

  const event = await insertEvent(ctx.db, {
    server, detectedBy, signalId: p.signalId ?? null, signalKind: p.signalKind ?? p.source, cause, signalAt: p.source === 'signal' ? signalAt : ctx.now(),
    detectedAt: ctx.now(), targetRtoSeconds: s.failoverRtoSeconds, before: watch?.state ?? null, lastCommitBeforeAt: watch?.lastCommitAt ?? null, runId: ctx.runId,
  });
  const sent = await notifyStarted(ctx, detectedFinding(server, cause, event.signalAt));
  ctx.log.info(`failover event ${event.id} opened (${cause})${sent ? '; alert sent' : ''}`);
  return finish(ctx, azure, s, event, cause);
}

async function finish(ctx: JobContext, azure: AzureServices, s: FailoverSettings, event: Parameters<typeof measureEvent>[3], label: string): Promise<JobOutcome> {
  const m = await measureEvent(ctx, azure, s, event, { probeTarget: probeTargetOf(ctx, s), targetSeconds: s.failoverRtoSeconds, label });
  return { ...(m.critical ? { status: 'critical' as const } : {}), summary: m.summary, findings: m.findings, data: m.data };
}
