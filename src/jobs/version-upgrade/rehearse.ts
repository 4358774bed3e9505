import { AzureOperationError } from '../../platform/azure/index.js';
import { errorMessage } from '../../platform/redact.js';
import type { JobOutcome } from '../../shared/job.js';
import { isTemporaryRestoreServer, RESTORE_EXPIRY_MARGIN_MS, restoreTags, temporaryServerName } from '../../shared/restore-servers.js';
import { findServer, isRefused, restoredCopyTarget, settle, sweepOrphans, type RestoreServerScope } from '../../shared/restore-servers-azure.js';
import { verifyOptionsFrom, verifyRestoredCopy } from '../../shared/verify/restored-copy.js';
import { activeRecord, startRecord, updateRecord, type UpgradeRecord } from './records.js';
import type { VersionUpgradeSettings } from './settings.js';
import { verifyUpgraded } from './verify-upgraded.js';

const MINUTE = 60_000;
const minutes = (from: Date, to: Date) => Math.round(((to.getTime() - from.getTime()) / MINUTE) * 10) / 10;

export interface Rehearsal extends RestoreServerScope {
  s: VersionUpgradeSettings;
  schema: string;
  target: number;
}

/** Marks the rehearsal failed; its copy (if any) is deleted next, whatever the failure. */
async function fail(r: Rehearsal, a: UpgradeRecord, reason: string): Promise<UpgradeRecord> {
  r.ctx.log.warn('upgrade rehearsal failed', { rehearsal: a.id, reason });
  return updateRecord(r.ctx.db, a.id, { state: 'deleting', result: 'failed', failure: reason, operation: null }, r.ctx.runId);
}

const late = (r: Rehearsal, a: UpgradeRecord) =>
  r.now >= a.deadlineAt ? fail(r, a, `not upgraded and verified by the deadline (${r.s.deadlineMinutes} min after ${a.startedAt.toISOString()}, state ${a.state})`) : null;

async function stepStarting(r: Rehearsal, a: UpgradeRecord): Promise<UpgradeRecord> {
  const existing = await findServer(r, a.serverName);
  if (existing) {
    if (!isTemporaryRestoreServer(existing, r.protectedNames)) {
      return updateRecord(r.ctx.db, a.id, { state: 'done', result: 'failed', failure: `a server named ${a.serverName} exists and was not created by dbops; left alone`, finishedAt: r.now }, r.ctx.runId);
    }
    // Asked for before a crash: adopt it.
    return updateRecord(r.ctx.db, a.id, { state: 'restoring' }, r.ctx.runId);
  }
  try {
    const op = await r.azure.postgres.beginPointInTimeRestore({
      targetServerName: a.serverName,
      pointInTime: a.restorePoint,
      tags: restoreTags({ source: a.sourceServer, attempt: `u${a.id}`, expiresAt: new Date(a.deadlineAt.getTime() + RESTORE_EXPIRY_MARGIN_MS) }),
    });
    r.actions.push({ description: `restore ${a.sourceServer} as of ${a.restorePoint.toISOString()} into ${a.serverName}`, status: 'done' });
    return updateRecord(r.ctx.db, a.id, { state: 'restoring', operation: op.serialize() }, r.ctx.runId);
  } catch (err) {
    if (isRefused(err)) return fail(r, a, `the restore was refused: ${errorMessage(err)}`);
    throw err;
  }
}

async function stepRestoring(r: Rehearsal, a: UpgradeRecord): Promise<UpgradeRecord> {
  if (a.operation) {
    const outcome = await settle(r, a.operation);
    if (outcome === 'running') return a;
    if (outcome !== 'succeeded') return fail(r, a, `the restore failed: ${outcome.error}`);
    return requestUpgrade(r, await updateRecord(r.ctx.db, a.id, { state: 'upgrading', operation: null }, r.ctx.runId));
  }
  const server = await findServer(r, a.serverName);
  if (!server) return fail(r, a, `the copy ${a.serverName} disappeared while restoring`);
  if (server.state !== 'Ready') return a;
  return requestUpgrade(r, await updateRecord(r.ctx.db, a.id, { state: 'upgrading' }, r.ctx.runId));
}

/**
 * Asks Azure to upgrade the copy and waits for it in this invocation as long as the invocation
 * may (the measured time is then exact); a longer upgrade is followed by later invocations.
 */
async function requestUpgrade(r: Rehearsal, a: UpgradeRecord): Promise<UpgradeRecord> {
  const requestedAt = r.ctx.now();
  const t0 = performance.now();
  let op;
  try {
    op = await r.azure.postgres.beginMajorVersionUpgrade({ name: a.serverName, version: a.targetVersion });
  } catch (err) {
    // Refused at once (Azure's pre-check, a version it does not offer): the real upgrade would be too.
    if (isRefused(err)) return fail(r, a, `Azure refused the upgrade of the copy to PostgreSQL ${a.targetVersion}: ${errorMessage(err)}`);
    throw err;
  }
  r.actions.push({ description: `upgrade ${a.serverName} to PostgreSQL ${a.targetVersion}`, statement: `az postgres flexible-server upgrade --resource-group ${r.azure.postgres.coordinates.resourceGroup} --name ${a.serverName} --version ${a.targetVersion} --yes`, status: 'done' });
  a = await updateRecord(r.ctx.db, a.id, { operation: op.serialize(), upgradeRequestedAt: requestedAt }, r.ctx.runId);
  try {
    await op.wait({ signal: r.ctx.signal });
  } catch (err) {
    if (err instanceof AzureOperationError && err.code === 'DeadlineReached') return a;
    return fail(r, a, `the upgrade of the copy failed (Azure restored its pre-upgrade snapshot; production would fail the same way): ${errorMessage(err)}`);
  }
  const upgradeMs = Math.round(performance.now() - t0);
  return updateRecord(r.ctx.db, a.id, { state: 'verifying', operation: null, upgradeCompletedAt: r.ctx.now(), measurements: { ...a.measurements, upgradeSeconds: Math.round(upgradeMs / 100) / 10, upgradeMeasured: 'exact' } }, r.ctx.runId);
}

async function stepUpgrading(r: Rehearsal, a: UpgradeRecord): Promise<UpgradeRecord> {
  if (!a.operation) return requestUpgrade(r, a);
  const outcome = await settle(r, a.operation);
  if (outcome === 'running') return a;
  if (outcome !== 'succeeded') return fail(r, a, `the upgrade of the copy failed (Azure restored its pre-upgrade snapshot; production would fail the same way): ${outcome.error}`);
  // Followed across invocations: known to within the time between them.
  const seconds = Math.round((r.now.getTime() - (a.upgradeRequestedAt ?? a.startedAt).getTime()) / 1000);
  return updateRecord(r.ctx.db, a.id, { state: 'verifying', operation: null, upgradeCompletedAt: r.now, measurements: { ...a.measurements, upgradeSeconds: seconds, upgradeMeasured: 'at most (followed across invocations)' } }, r.ctx.runId);
}

async function stepVerifying(r: Rehearsal, a: UpgradeRecord): Promise<UpgradeRecord> {
  const server = await findServer(r, a.serverName);
  if (!server) return fail(r, a, `the copy ${a.serverName} disappeared before verification`);
  if (server.state !== 'Ready') return a;
  if (server.version !== a.targetVersion) return fail(r, a, `Azure reports the copy at PostgreSQL ${server.version ?? '?'} after the upgrade, not ${a.targetVersion}`);
  const target = await restoredCopyTarget(r, r.s, server);
  let checked;
  try {
    checked = await r.ctx.withServer(target, { purpose: 'upgraded-copy', max: 2 }, async (pool) => {
      const upgraded = await verifyUpgraded(r.ctx, pool, target, { schema: r.schema, targetMajor: r.target, who: `the copy ${a.serverName}` });
      const restored = await verifyRestoredCopy(r.ctx.db, pool, { schema: r.schema, restorePoint: a.restorePoint, ...verifyOptionsFrom(r.s) });
      return { upgraded, restored };
    });
  } catch (err) {
    r.findings.push({ check: 'upgrade.rehearsal.verify-retry', severity: 'info', target: a.serverName, message: `verification of ${a.serverName} could not run yet (retrying next invocation until ${a.deadlineAt.toISOString()}): ${errorMessage(err)}` });
    return a;
  }
  // The restore verification's RPO is about backups, not the upgrade: kept as a note.
  const findings = [...checked.upgraded.findings, ...checked.restored.findings.filter((f) => f.severity === 'critical' && f.check !== 'restore.rpo')];
  const failed = findings.filter((f) => f.severity === 'critical');
  const upgradeSeconds = Number(a.measurements.upgradeSeconds ?? 0);
  const measurements = {
    ...a.measurements,
    expectedDowntimeMinutes: Math.round((upgradeSeconds / 60) * 10) / 10,
    postUpgradeSeconds: Math.round(((checked.upgraded.steps.extensions ?? 0) + (checked.upgraded.steps.analyze ?? 0)) / 100) / 10,
    copyVersion: checked.upgraded.version,
    extensionsUpdated: checked.upgraded.extensionsUpdated,
    jobs: checked.upgraded.jobs,
    rowCounts: checked.restored.rowCounts,
    verifySteps: { ...checked.upgraded.steps, ...checked.restored.steps },
  };
  return updateRecord(
    r.ctx.db,
    a.id,
    { state: 'deleting', result: failed.length ? 'failed' : 'passed', failure: failed.length ? failed.map((f) => f.message).join('; ') : null, findings, measurements },
    r.ctx.runId,
  );
}

async function stepDeleting(r: Rehearsal, a: UpgradeRecord): Promise<UpgradeRecord> {
  if (a.operation) {
    const outcome = await settle(r, a.operation);
    if (outcome === 'running') return a;
    if (outcome !== 'succeeded') {
      r.findings.push({ check: 'upgrade.rehearsal.delete', severity: 'warning', target: a.serverName, message: `deleting ${a.serverName} failed; asking again next invocation: ${outcome.error}` });
      return updateRecord(r.ctx.db, a.id, { operation: null }, r.ctx.runId);
    }
  }
  const server = await findServer(r, a.serverName);
  if (!server) {
    return updateRecord(r.ctx.db, a.id, { state: 'done', result: a.result ?? 'failed', failure: a.result ? a.failure : (a.failure ?? 'ended without verification'), operation: null, finishedAt: r.now, measurements: { ...a.measurements, copyMinutes: minutes(a.startedAt, r.now) } }, r.ctx.runId);
  }
  if (!isTemporaryRestoreServer(server, r.protectedNames)) {
    return updateRecord(r.ctx.db, a.id, { state: 'done', result: 'failed', failure: `${a.failure ? `${a.failure}; ` : ''}${a.serverName} lacks dbops's tags; not deleted`, finishedAt: r.now }, r.ctx.runId);
  }
  // A server still being upgraded cannot be deleted yet: ask again next invocation.
  if (server.state === 'Dropping') return a;
  try {
    const op = await r.azure.postgres.beginDelete(a.serverName);
    r.actions.push({ description: `delete the rehearsal copy ${a.serverName}`, status: 'done' });
    const asked = await updateRecord(r.ctx.db, a.id, { operation: op.serialize() }, r.ctx.runId);
    // Usually quick: follow it now so one invocation can finish the rehearsal.
    return stepDeleting(r, asked);
  } catch (err) {
    r.findings.push({ check: 'upgrade.rehearsal.delete', severity: 'warning', target: a.serverName, message: `could not ask to delete ${a.serverName}; asking again next invocation: ${errorMessage(err)}` });
    return a;
  }
}

const STEPS: Record<string, (r: Rehearsal, a: UpgradeRecord) => Promise<UpgradeRecord>> = {
  starting: stepStarting,
  restoring: stepRestoring,
  upgrading: stepUpgrading,
  verifying: stepVerifying,
  deleting: stepDeleting,
};

export function rehearsalData(a: UpgradeRecord): Record<string, unknown> {
  return { rehearsal: a.id, state: a.state, result: a.result, target: a.targetVersion, copy: a.serverName, ...a.measurements };
}

function finished(a: UpgradeRecord, r: Rehearsal): JobOutcome {
  const m = a.measurements;
  const findings = [...a.findings, ...r.findings];
  if (a.result !== 'passed') findings.push({ check: 'upgrade.rehearsal.failed', severity: 'critical', target: a.sourceServer, message: `rehearsal #${a.id} of the upgrade to PostgreSQL ${a.targetVersion} failed: ${a.failure ?? 'unknown reason'}` });
  return {
    summary:
      a.result === 'passed'
        ? `Rehearsal #${a.id} passed: a copy of ${a.sourceServer} (as of ${a.restorePoint.toISOString()}) upgraded from PostgreSQL ${a.fromVersion} to ${a.targetVersion} in ${String(m.upgradeSeconds)} s (${String(m.upgradeMeasured)}): expected downtime ${String(m.expectedDowntimeMinutes)} min; install-verification and the health check ran on ${String(m.copyVersion)}; ${a.serverName} deleted. plan=upgrade may now run within the rehearsal's validity.`
        : `Rehearsal #${a.id} of the upgrade to PostgreSQL ${a.targetVersion} failed: ${a.failure ?? 'unknown reason'}; ${a.serverName} deleted.`,
    findings,
    actions: r.actions,
    data: rehearsalData(a),
  };
}

/** One rehearsal step: sweep leftover copies, start a rehearsal if none is in flight, advance it. */
export async function rehearse(r: Rehearsal, fromVersion: string): Promise<JobOutcome> {
  const pg = r.azure.postgres;
  let active = await activeRecord(r.ctx.db, 'rehearsal');
  await sweepOrphans(r, active);
  if (active && active.targetVersion !== String(r.target)) {
    r.findings.push({ check: 'upgrade.rehearsal.other-target', severity: 'info', target: active.serverName, message: `rehearsal #${active.id} of PostgreSQL ${active.targetVersion} is in flight; it is advanced first, then a rehearsal of ${r.target} can start` });
  }
  if (!active) {
    const restorePoint = new Date(r.now.getTime() - r.s.restorePointLagMinutes * MINUTE);
    if (r.ctx.dryRun) {
      const name = temporaryServerName(pg.coordinates.serverName, r.now, 'u0');
      return {
        summary: `Rehearsal of the upgrade to PostgreSQL ${r.target} (dry run: nothing started).`,
        findings: r.findings,
        actions: [
          ...r.actions,
          { description: `restore ${pg.coordinates.serverName} as of ${restorePoint.toISOString()} into temporary server ${name}-like copy (backup-verification's tags and sweep)`, status: 'planned' },
          { description: `upgrade the copy to PostgreSQL ${r.target} (PATCH createMode Update) and measure it`, status: 'planned' },
          { description: 'run install-verification, the health check and the restore verification on the copy; ALTER EXTENSION … UPDATE and ANALYZE', status: 'planned' },
          { description: 'delete the copy', status: 'planned' },
        ],
      };
    }
    active = await startRecord(r.ctx, {
      kind: 'rehearsal',
      state: 'starting',
      sourceServer: pg.coordinates.serverName,
      serverName: (id) => temporaryServerName(pg.coordinates.serverName, r.now, `u${id}`),
      fromVersion,
      targetVersion: String(r.target),
      restorePoint,
      startedAt: r.now,
      deadlineMinutes: r.s.deadlineMinutes,
      details: {},
    });
  }
  if (r.ctx.dryRun) {
    return { summary: `Rehearsal #${active.id} (PostgreSQL ${active.targetVersion}) is ${active.state} (dry run: not advanced).`, findings: r.findings, actions: r.actions, data: rehearsalData(active) };
  }
  const before = active.state;
  let current: UpgradeRecord = active;
  // Keep advancing while a step finishes at once (a quick restore, the delete), never past done.
  for (let i = 0; i < 6 && current.state !== 'done'; i++) {
    const state: string = current.state;
    const step = STEPS[state];
    if (!step) break;
    const overdue: UpgradeRecord | null = state !== 'deleting' ? await late(r, current) : null;
    current = overdue ?? (await step(r, current));
    if (current.state === state) break;
  }
  active = current;
  if (active.state === 'done') return finished(active, r);
  return {
    summary: `Rehearsal #${active.id} (PostgreSQL ${active.targetVersion}) ${before === active.state ? `still ${active.state}` : `${before} → ${active.state}`}: run again to continue (${active.serverName}, deadline ${active.deadlineAt.toISOString()}).`,
    findings: r.findings,
    actions: r.actions,
    data: rehearsalData(active),
  };
}
