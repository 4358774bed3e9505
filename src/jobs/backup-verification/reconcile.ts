import { CronExpressionParser } from 'cron-parser';
import type { AzureServices, Server } from '../../platform/azure/index.js';
import type { Action, Finding, JobContext, JobOutcome } from '../../shared/job.js';
import { errorMessage } from '../../platform/redact.js';
import { isTemporaryRestoreServer, RESTORE_EXPIRY_MARGIN_MS, restoreTags, temporaryServerName } from '../../shared/restore-servers.js';
import { findServer, isRefused, protectedServerNames, restoredCopyTarget, settle, sweepOrphans, type RestoreServerScope } from '../../shared/restore-servers-azure.js';
import { verifyOptionsFrom, verifyRestoredCopy, VERIFIED_TABLES } from '../../shared/verify/restored-copy.js';
import { activeAttempt, insertAttempt, latestAttempt, nextAttemptId, touchAttempt, updateAttempt, type Attempt, type AttemptChange } from './attempts.js';
import type { BackupVerificationSettings } from './settings.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const minutes = (from: Date, to: Date) => Math.round(((to.getTime() - from.getTime()) / MINUTE) * 10) / 10;

/**
 * The previous scheduled start of a weekly test, if no attempt has started since and it is
 * less than a day old (a first deployment or a long outage does not start one at a busy hour).
 */
export function weeklyTestDue(expression: string, now: Date, lastStartedAt: Date | null): { due: boolean; previous: Date; next: Date } {
  const previous = CronExpressionParser.parse(expression, { tz: 'UTC', currentDate: now }).prev().toDate();
  const next = CronExpressionParser.parse(expression, { tz: 'UTC', currentDate: now }).next().toDate();
  const due = now.getTime() - previous.getTime() < 24 * HOUR && (!lastStartedAt || lastStartedAt < previous);
  return { due, previous, next };
}

interface Tick extends RestoreServerScope {
  s: BackupVerificationSettings;
  schema: string;
}

function planActions(t: Tick, name: string, restorePoint: Date): Action[] {
  const rg = t.azure.postgres.coordinates.resourceGroup;
  const source = t.azure.postgres.coordinates.serverName;
  return [
    {
      description: `restore ${source} as of ${restorePoint.toISOString()} into temporary server ${name} (same network, tagged ${Object.entries(restoreTags({ source, attempt: 0, expiresAt: restorePoint })).map(([k]) => k).join(', ')})`,
      statement: `az postgres flexible-server restore --resource-group ${rg} --name ${name} --source-server ${source} --restore-time ${restorePoint.toISOString()}`,
      status: 'planned',
    },
    {
      description: `verify ${name}: schema, tables, indexes, partitions and roles; rows created up to the restore point per table (${VERIFIED_TABLES.map((x) => x.table).join(', ')}) against production; effective RPO; amcheck on B-tree indexes; ${t.s.sampleRows} rows per table by checksum`,
      status: 'planned',
    },
    { description: `delete temporary server ${name}`, statement: `az postgres flexible-server delete --resource-group ${rg} --name ${name} --yes`, status: 'planned' },
  ];
}

/** Marks the attempt failed; its server (if any) is deleted next, whatever the failure. */
async function fail(t: Tick, a: Attempt, reason: string): Promise<Attempt> {
  t.ctx.log.warn('restore test failed', { attempt: a.id, reason });
  return updateAttempt(t.ctx.db, a.id, { state: 'deleting', result: 'failed', failure: reason, operation: null, operationKind: null }, t.ctx.runId);
}

async function deadlinePassed(t: Tick, a: Attempt): Promise<Attempt | null> {
  if (t.now < a.deadlineAt) return null;
  return fail(t, a, `not restored and verified by the deadline (${t.s.restoreDeadlineMinutes} min after ${a.startedAt.toISOString()}, state ${a.state})`);
}

async function stepStarting(t: Tick, a: Attempt): Promise<Attempt> {
  const late = await deadlinePassed(t, a);
  if (late) return late;
  const existing = await findServer(t, a.serverName);
  if (existing) {
    if (!isTemporaryRestoreServer(existing, t.protectedNames)) {
      // Someone else's server under our name: never touch it.
      return updateAttempt(t.ctx.db, a.id, { state: 'done', result: 'failed', failure: `a server named ${a.serverName} exists and was not created by dbops; left alone`, finishedAt: t.now }, t.ctx.runId);
    }
    // The request went out before a crash: adopt the server and follow its state.
    return updateAttempt(t.ctx.db, a.id, { state: 'restoring', restoreRequestedAt: a.restoreRequestedAt ?? t.now }, t.ctx.runId);
  }
  try {
    const op = await t.azure.postgres.beginPointInTimeRestore({
      targetServerName: a.serverName,
      pointInTime: a.restorePoint,
      tags: restoreTags({ source: a.sourceServer, attempt: a.id, expiresAt: new Date(a.deadlineAt.getTime() + RESTORE_EXPIRY_MARGIN_MS) }),
    });
    t.actions.push({ description: `restore ${a.sourceServer} as of ${a.restorePoint.toISOString()} into ${a.serverName}`, status: 'done' });
    return updateAttempt(t.ctx.db, a.id, { state: 'restoring', operation: op.serialize(), operationKind: 'restore', restoreRequestedAt: t.now }, t.ctx.runId);
  } catch (err) {
    // A refused request will not succeed later; anything else is retried next tick.
    if (isRefused(err)) return fail(t, a, `the restore was refused: ${errorMessage(err)}`);
    throw err;
  }
}

async function stepRestoring(t: Tick, a: Attempt): Promise<Attempt> {
  const late = await deadlinePassed(t, a);
  if (late) return late;
  if (a.operation) {
    const outcome = await settle(t, a.operation);
    if (outcome === 'running') return a;
    if (outcome !== 'succeeded') return fail(t, a, `the restore failed: ${outcome.error}`);
    return updateAttempt(t.ctx.db, a.id, { state: 'verifying', operation: null, operationKind: null, restoreCompletedAt: t.now }, t.ctx.runId);
  }
  const server = await findServer(t, a.serverName);
  if (!server) return fail(t, a, `the restored server ${a.serverName} disappeared while restoring`);
  if (server.state !== 'Ready') return a;
  return updateAttempt(t.ctx.db, a.id, { state: 'verifying', restoreCompletedAt: t.now }, t.ctx.runId);
}

async function stepVerifying(t: Tick, a: Attempt): Promise<Attempt> {
  const late = await deadlinePassed(t, a);
  if (late) return late;
  const server = await findServer(t, a.serverName);
  if (!server) return fail(t, a, `the restored server ${a.serverName} disappeared before verification`);
  if (server.state !== 'Ready') return a;
  const findings: Finding[] = [];
  const source = await t.azure.postgres.getServer(a.sourceServer);
  const subnet = (x: Server) => x.network?.delegatedSubnetResourceId ?? null;
  if (subnet(server) !== subnet(source) || (server.network?.publicNetworkAccess ?? null) !== (source.network?.publicNetworkAccess ?? null)) {
    findings.push({
      check: 'restore.network',
      severity: 'warning',
      target: a.serverName,
      message: `the restored server's network (${subnet(server) ?? server.network?.publicNetworkAccess ?? 'none'}) differs from the source's (${subnet(source) ?? source.network?.publicNetworkAccess ?? 'none'})`,
    });
  }
  const target = await restoredCopyTarget(t, t.s, server);
  let result;
  try {
    result = await t.ctx.withServer(target, { purpose: 'restored-copy', max: 2 }, (pool) =>
      verifyRestoredCopy(t.ctx.db, pool, { schema: t.schema, restorePoint: a.restorePoint, ...verifyOptionsFrom(t.s) }),
    );
  } catch (err) {
    // Not reachable yet (DNS, firewall) or a query that failed: tried again next tick until the deadline.
    t.findings.push({ check: 'restore-test.verify-retry', severity: 'info', target: a.serverName, message: `verification of ${a.serverName} could not run yet (retrying next tick until ${a.deadlineAt.toISOString()}): ${errorMessage(err)}` });
    return a;
  }
  findings.push(...result.findings);
  const requested = a.restoreRequestedAt ?? a.startedAt;
  const rtoMinutes = minutes(requested, t.now);
  if (rtoMinutes > t.s.pitrRtoMinutes) {
    findings.push({ check: 'restore.rto', severity: 'warning', target: a.serverName, message: `restoring and verifying took ${rtoMinutes} min, more than the ${t.s.pitrRtoMinutes} min point-in-time-restore RTO`, value: rtoMinutes, threshold: t.s.pitrRtoMinutes, unit: 'min' });
  }
  const failed = findings.filter((f) => f.severity === 'critical');
  const measurements = {
    restorePoint: a.restorePoint.toISOString(),
    restoreMinutes: minutes(requested, a.restoreCompletedAt ?? t.now),
    rtoMinutes,
    rtoTargetMinutes: t.s.pitrRtoMinutes,
    regionRtoTargetMinutes: t.s.rtoMinutes,
    rpoMinutes: result.rpoMinutes,
    rpoTargetMinutes: t.s.rpoMinutes,
    newestRestoredRow: result.newestRestoredRow,
    rowCounts: result.rowCounts,
    amcheck: result.amcheck,
    indexesChecked: result.indexesChecked,
    rowsCompared: result.sampled,
    sku: server.sku?.name ?? null,
    verifySteps: result.steps,
  };
  return updateAttempt(
    t.ctx.db,
    a.id,
    {
      state: 'deleting',
      result: failed.length ? 'failed' : 'passed',
      failure: failed.length ? failed.map((f) => f.message).join('; ') : null,
      verifiedAt: t.now,
      findings,
      measurements,
    },
    t.ctx.runId,
  );
}

async function stepDeleting(t: Tick, a: Attempt): Promise<Attempt> {
  if (a.operation && a.operationKind === 'delete') {
    const outcome = await settle(t, a.operation);
    if (outcome === 'running') return a;
    if (outcome !== 'succeeded') {
      t.findings.push({ check: 'restore-test.delete', severity: 'warning', target: a.serverName, message: `deleting ${a.serverName} failed; asking again next tick: ${outcome.error}` });
      return updateAttempt(t.ctx.db, a.id, { operation: null, operationKind: null }, t.ctx.runId);
    }
  }
  const server = await findServer(t, a.serverName);
  if (!server) return finish(t, a);
  if (!isTemporaryRestoreServer(server, t.protectedNames)) {
    return updateAttempt(t.ctx.db, a.id, { state: 'done', result: 'failed', failure: `${a.failure ? `${a.failure}; ` : ''}${a.serverName} lacks dbops's tags; not deleted`, finishedAt: t.now }, t.ctx.runId);
  }
  try {
    const op = await t.azure.postgres.beginDelete(a.serverName);
    t.actions.push({ description: `delete temporary server ${a.serverName}`, status: 'done' });
    return updateAttempt(t.ctx.db, a.id, { operation: op.serialize(), operationKind: 'delete', deleteRequestedAt: a.deleteRequestedAt ?? t.now }, t.ctx.runId);
  } catch (err) {
    t.actions.push({ description: `delete temporary server ${a.serverName}`, status: 'failed', error: errorMessage(err) });
    t.findings.push({ check: 'restore-test.delete', severity: 'warning', target: a.serverName, message: `could not ask to delete ${a.serverName}; asking again next tick: ${errorMessage(err)}` });
    return a;
  }
}

async function finish(t: Tick, a: Attempt): Promise<Attempt> {
  const since = a.restoreRequestedAt;
  const hours = since ? (t.now.getTime() - since.getTime()) / HOUR : 0;
  // Flexible servers bill by the hour, a started hour counting in full.
  const billedHours = since ? Math.max(1, Math.ceil(hours)) : 0;
  const change: AttemptChange = {
    state: 'done',
    result: a.result ?? 'failed',
    failure: a.result ? a.failure : (a.failure ?? 'ended without verification'),
    operation: null,
    operationKind: null,
    deletedAt: t.now,
    finishedAt: t.now,
    measurements: { ...a.measurements, serverHours: Math.round(hours * 100) / 100, billedHours, costUsd: Math.round(billedHours * t.s.hourlyCostUsd * 100) / 100 },
  };
  return updateAttempt(t.ctx.db, a.id, change, t.ctx.runId);
}

const STEPS = { starting: stepStarting, restoring: stepRestoring, verifying: stepVerifying, deleting: stepDeleting } as const;

/** What the console and alerts read from a finished attempt. */
export function attemptData(a: Attempt | null): Record<string, unknown> {
  if (!a) return {};
  const m = a.measurements;
  return {
    lastRestoreTest: a.id,
    lastRestoreTestResult: a.result,
    lastRestoreTestFinishedAt: a.finishedAt?.toISOString() ?? null,
    restorePoint: a.restorePoint.toISOString(),
    ...Object.fromEntries(['restoreMinutes', 'rtoMinutes', 'rpoMinutes', 'rtoTargetMinutes', 'rpoTargetMinutes', 'costUsd', 'serverHours', 'sku'].filter((k) => m[k] !== undefined).map((k) => [k, m[k]])),
  };
}

function finishedOutcome(a: Attempt, tickFindings: Finding[], actions: Action[]): JobOutcome {
  const m = a.measurements;
  const findings = [...a.findings, ...tickFindings];
  if (a.result !== 'passed') {
    findings.push({ check: 'restore-test.failed', severity: 'critical', target: a.sourceServer, message: `restore test #${a.id} failed: ${a.failure ?? 'unknown reason'}` });
  }
  const cost = m.costUsd !== undefined ? `; temporary server ${m.serverHours} h, about $${m.costUsd}` : '';
  return {
    summary:
      a.result === 'passed'
        ? `Restore test #${a.id} passed: ${a.sourceServer} restored as of ${a.restorePoint.toISOString()} in ${m.restoreMinutes} min, verified after ${m.rtoMinutes} min (target ${m.rtoTargetMinutes}), RPO ${m.rpoMinutes} min (target ${m.rpoTargetMinutes}); ${a.serverName} deleted${cost}.`
        : `Restore test #${a.id} failed: ${a.failure ?? 'unknown reason'}; ${a.serverName} deleted${cost}.`,
    findings,
    actions,
    data: { attempt: a.id, state: a.state, ...attemptData(a) },
  };
}

/** One reconciler tick: sweep leftovers, start a test when due, advance the one in flight a step. */
export async function reconcile(ctx: JobContext, azure: AzureServices, s: BackupVerificationSettings, opts: { schema: string; start: boolean }): Promise<JobOutcome> {
  const now = ctx.now();
  const pg = azure.postgres;
  const t: Tick = {
    ctx,
    azure,
    s,
    schema: opts.schema,
    now,
    findings: [],
    actions: [],
    protectedNames: protectedServerNames(azure),
  };
  const steps: Record<string, number> = {};
  let active = await activeAttempt(ctx.db);
  const last = await latestAttempt(ctx.db, true);
  const t0 = performance.now();
  await sweepOrphans(t, active);
  steps.sweep = Math.round(performance.now() - t0);

  if (!active) {
    const latest = await latestAttempt(ctx.db);
    const schedule = weeklyTestDue(s.restoreTestStart, now, latest?.startedAt ?? null);
    const restorePoint = new Date(now.getTime() - s.restorePointLagMinutes * MINUTE);
    if (ctx.dryRun || !(opts.start || schedule.due)) {
      const name = temporaryServerName(pg.coordinates.serverName, now, (latest?.id ?? 0) + 1);
      const when = opts.start || schedule.due ? 'now' : schedule.next.toISOString();
      return {
        summary: `No restore test in progress; the next starts ${when === 'now' ? 'now' : `after ${when}`}${ctx.dryRun ? ' (dry run: nothing started)' : ''}.`,
        findings: t.findings,
        actions: ctx.dryRun ? [...t.actions, ...planActions(t, name, restorePoint)] : t.actions,
        steps,
        data: { state: 'idle', nextRestoreTest: schedule.next.toISOString(), ...attemptData(last) },
      };
    }
    const id = await nextAttemptId(ctx.db);
    active = await insertAttempt(ctx.db, {
      id,
      sourceServer: pg.coordinates.serverName,
      serverName: temporaryServerName(pg.coordinates.serverName, now, id),
      restorePoint,
      startedAt: now,
      deadlineAt: new Date(now.getTime() + s.restoreDeadlineMinutes * MINUTE),
      runId: ctx.runId,
    });
    ctx.log.info('restore test started', { attempt: id, server: active.serverName });
  }

  if (ctx.dryRun) {
    const next = { starting: 'request the restore', restoring: 'check whether the restore finished', verifying: 'verify the restored server', deleting: 'delete the temporary server', done: '' }[active.state];
    return {
      summary: `Restore test #${active.id} is ${active.state}; the next tick would ${next} (${active.serverName}).`,
      findings: t.findings,
      actions: [...t.actions, { description: `${next}: ${active.serverName}`, status: 'planned' }],
      data: { attempt: active.id, state: active.state, ...attemptData(last) },
    };
  }

  const before = active.state;
  const ts = performance.now();
  await touchAttempt(ctx.db, active.id, ctx.runId);
  let after = await STEPS[active.state as keyof typeof STEPS](t, active);
  // A failed or verified attempt asks for its server's deletion in the same tick.
  if (after.state === 'deleting' && before !== 'deleting') after = await stepDeleting(t, after);
  steps[before] = Math.round(performance.now() - ts);

  if (after.state === 'done') {
    const outcome = finishedOutcome(after, t.findings, t.actions);
    return { ...outcome, steps };
  }
  return {
    summary: `Restore test #${after.id} ${before === after.state ? `still ${after.state}` : `${before} → ${after.state}`} (${after.serverName}, started ${after.startedAt.toISOString()}, deadline ${after.deadlineAt.toISOString()}).`,
    findings: t.findings,
    actions: t.actions,
    steps,
    data: { attempt: after.id, state: after.state, ...attemptData(last) },
  };
}
