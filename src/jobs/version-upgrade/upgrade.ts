import { AzureOperationError, type AzureServices } from '../../platform/azure/index.js';
import { errorMessage } from '../../platform/redact.js';
import type { Action, Finding, JobContext, JobOutcome } from '../../shared/job.js';
import { findServer, isRefused, settle } from '../../shared/restore-servers-azure.js';
import { activeRecord, latestRecord, startRecord, updateRecord, type UpgradeRecord } from './records.js';
import type { VersionUpgradeSettings } from './settings.js';
import { verifyUpgraded } from './verify-upgraded.js';

const DAY = 86_400_000;

export interface ProductionUpgrade {
  ctx: JobContext;
  azure: AzureServices;
  s: VersionUpgradeSettings;
  schema: string;
  target: number;
  confirm: string | undefined;
  now: Date;
  findings: Finding[];
  actions: Action[];
}

interface ReplicaPlan {
  name: string;
  location: string;
  skuName?: string;
  skuTier?: string;
  tags?: Record<string, string>;
}

const replicaOf = (a: UpgradeRecord): ReplicaPlan | null => {
  const r = a.details.replica;
  if (!r || typeof r !== 'object') return null;
  const o = r as Record<string, unknown>;
  if (typeof o.name !== 'string' || typeof o.location !== 'string') return null;
  return {
    name: o.name,
    location: o.location,
    ...(typeof o.skuName === 'string' ? { skuName: o.skuName } : {}),
    ...(typeof o.skuTier === 'string' ? { skuTier: o.skuTier } : {}),
  };
};

/** Each step is a warning, so the on-call channel hears of every one. */
function step(u: ProductionUpgrade, message: string, details?: Record<string, unknown>): void {
  u.findings.push({ check: 'upgrade.step', severity: 'warning', target: u.azure.postgres.coordinates.serverName, message, ...(details ? { details } : {}) });
}

export function rollbackCommands(u: Pick<ProductionUpgrade, 'azure'>, restorePoint: Date): string[] {
  const { resourceGroup: rg, serverName } = u.azure.postgres.coordinates;
  return [
    `az postgres flexible-server restore --resource-group ${rg} --name ${serverName}-rollback --source-server ${serverName} --restore-time ${restorePoint.toISOString()}`,
    `# then point the application's connection string (Key Vault secret / app setting) at ${serverName}-rollback.postgres.database.azure.com and restart it`,
  ];
}

function planActions(u: ProductionUpgrade, replica: ReplicaPlan | null): Action[] {
  const { resourceGroup: rg, serverName } = u.azure.postgres.coordinates;
  return [
    { description: `record the restore point (now) to roll back to: a point-in-time restore to a new server`, status: 'planned' },
    ...(replica
      ? [{ description: `delete read replica ${replica.name} (${replica.location}): disaster recovery has a gap until it is rebuilt`, statement: `az postgres flexible-server delete --resource-group ${rg} --name ${replica.name} --yes`, status: 'planned' as const }]
      : []),
    { description: `upgrade ${serverName} to PostgreSQL ${u.target} (Azure: pre-check, snapshot, upgrade; HA off during it)`, statement: `az postgres flexible-server upgrade --resource-group ${rg} --name ${serverName} --version ${u.target} --yes`, status: 'planned' },
    { description: 'verify the version, HA state, install-verification and health-check SQL on the upgraded server; ALTER EXTENSION … UPDATE; ANALYZE', status: 'planned' },
    ...(replica
      ? [{ description: `recreate read replica ${replica.name} in ${replica.location} (${replica.skuName ?? 'same SKU'})`, statement: `az postgres flexible-server replica create --resource-group ${rg} --replica-name ${replica.name} --source-server ${serverName} --location ${replica.location}${replica.skuName ? ` --sku-name ${replica.skuName}` : ''}`, status: 'planned' as const }]
      : []),
  ];
}

async function stepRemovingReplica(u: ProductionUpgrade, a: UpgradeRecord): Promise<UpgradeRecord> {
  const replica = replicaOf(a);
  if (a.operation) {
    const outcome = await settle(u, a.operation);
    if (outcome === 'running') return a;
    if (outcome !== 'succeeded') throw new Error(`deleting the replica failed: ${outcome.error}`);
  }
  if (replica && (await findServer(u, replica.name))) {
    if (a.operation) return updateRecord(u.ctx.db, a.id, { operation: null }, u.ctx.runId);
    const op = await u.azure.postgres.beginDelete(replica.name);
    u.actions.push({ description: `delete read replica ${replica.name}`, status: 'done' });
    step(u, `read replica ${replica.name} is being deleted for the upgrade: disaster recovery has a gap until it is rebuilt`);
    return stepRemovingReplica(u, await updateRecord(u.ctx.db, a.id, { operation: op.serialize() }, u.ctx.runId));
  }
  return stepUpgrading(u, await updateRecord(u.ctx.db, a.id, { state: 'upgrading', operation: null }, u.ctx.runId));
}

async function stepUpgrading(u: ProductionUpgrade, a: UpgradeRecord): Promise<UpgradeRecord> {
  const serverName = u.azure.postgres.coordinates.serverName;
  const failed = (why: string) => {
    u.findings.push({ check: 'upgrade.failed', severity: 'critical', target: serverName, message: `the upgrade of ${serverName} to PostgreSQL ${a.targetVersion} failed; Azure restored its pre-upgrade snapshot, so it still runs ${a.fromVersion}: ${why}` });
    return updateRecord(u.ctx.db, a.id, { state: 'recreating-replica', result: 'failed', failure: why, operation: null }, u.ctx.runId);
  };
  if (!a.operation) {
    let op;
    try {
      op = await u.azure.postgres.beginMajorVersionUpgrade({ version: a.targetVersion });
    } catch (err) {
      if (isRefused(err)) return failed(`Azure refused it: ${errorMessage(err)}`);
      throw err;
    }
    u.actions.push({ description: `upgrade ${serverName} to PostgreSQL ${a.targetVersion}`, status: 'done' });
    step(u, `upgrade of ${serverName} to PostgreSQL ${a.targetVersion} started: the database is unavailable (the rehearsal measured ${String(a.details.expectedDowntimeMinutes ?? '?')} min)`);
    a = await updateRecord(u.ctx.db, a.id, { operation: op.serialize(), upgradeRequestedAt: u.ctx.now() }, u.ctx.runId);
    try {
      await op.wait({ signal: u.ctx.signal });
    } catch (err) {
      if (err instanceof AzureOperationError && err.code === 'DeadlineReached') return a;
      return failed(errorMessage(err));
    }
  } else {
    const outcome = await settle(u, a.operation);
    if (outcome === 'running') return a;
    if (outcome !== 'succeeded') return failed(outcome.error);
  }
  const done = u.ctx.now();
  const downtimeMinutes = Math.round(((done.getTime() - (a.upgradeRequestedAt ?? a.startedAt).getTime()) / 60_000) * 10) / 10;
  step(u, `${serverName} upgraded to PostgreSQL ${a.targetVersion} in ${downtimeMinutes} min; verifying`);
  return stepVerifying(u, await updateRecord(u.ctx.db, a.id, { state: 'verifying', operation: null, upgradeCompletedAt: done, measurements: { ...a.measurements, downtimeMinutes } }, u.ctx.runId));
}

async function stepVerifying(u: ProductionUpgrade, a: UpgradeRecord): Promise<UpgradeRecord> {
  const server = await u.azure.postgres.getServer();
  const findings: Finding[] = [];
  const serverName = u.azure.postgres.coordinates.serverName;
  if (server.version !== a.targetVersion) findings.push({ check: 'upgrade.version', severity: 'critical', target: serverName, message: `Azure reports ${serverName} at PostgreSQL ${server.version ?? '?'}, not ${a.targetVersion}` });
  const ha = server.highAvailability;
  if (ha?.mode && ha.mode !== 'Disabled' && ha.state !== 'Healthy') {
    findings.push({ check: 'upgrade.high-availability', severity: 'warning', target: serverName, message: `high availability (${ha.mode}) is ${ha.state ?? 'unknown'} after the upgrade, not Healthy: check again shortly` });
  }
  const checked = await verifyUpgraded(u.ctx, u.ctx.db.pool, u.ctx.db.target, { schema: u.schema, targetMajor: u.target, who: serverName });
  findings.push(...checked.findings);
  u.findings.push(...findings);
  const measurements = { ...a.measurements, version: checked.version, extensionsUpdated: checked.extensionsUpdated, jobs: checked.jobs, highAvailability: ha?.state ?? null };
  const bad = findings.filter((f) => f.severity === 'critical');
  return stepRecreatingReplica(
    u,
    await updateRecord(u.ctx.db, a.id, { state: 'recreating-replica', findings, measurements, ...(bad.length ? { result: 'failed', failure: bad.map((f) => f.message).join('; ') } : {}) }, u.ctx.runId),
  );
}

async function stepRecreatingReplica(u: ProductionUpgrade, a: UpgradeRecord): Promise<UpgradeRecord> {
  const replica = replicaOf(a);
  const finish = () => updateRecord(u.ctx.db, a.id, { state: 'done', result: a.result ?? 'passed', operation: null, finishedAt: u.ctx.now() }, u.ctx.runId);
  if (!replica) return finish();
  if (a.operation) {
    const outcome = await settle(u, a.operation);
    if (outcome === 'running') return a;
    if (outcome !== 'succeeded') {
      u.findings.push({ check: 'upgrade.replica', severity: 'critical', target: replica.name, message: `recreating read replica ${replica.name} failed; asking again next invocation (disaster recovery still has a gap): ${outcome.error}` });
      return updateRecord(u.ctx.db, a.id, { operation: null }, u.ctx.runId);
    }
    step(u, `read replica ${replica.name} recreated in ${replica.location}: disaster recovery is back`);
    return finish();
  }
  const existing = await findServer(u, replica.name);
  if (existing?.state === 'Ready') return finish();
  if (existing) return a;
  const op = await u.azure.postgres.beginCreateReplica({ replicaName: replica.name, location: replica.location, ...(replica.skuName ? { skuName: replica.skuName } : {}), ...(replica.skuTier ? { skuTier: replica.skuTier } : {}) });
  u.actions.push({ description: `recreate read replica ${replica.name} in ${replica.location}`, status: 'done' });
  step(u, `read replica ${replica.name} is being recreated in ${replica.location}; disaster recovery has a gap until it is ready`);
  a = await updateRecord(u.ctx.db, a.id, { operation: op.serialize() }, u.ctx.runId);
  return stepRecreatingReplica(u, a);
}

const STEPS: Record<string, (u: ProductionUpgrade, a: UpgradeRecord) => Promise<UpgradeRecord>> = {
  'removing-replica': stepRemovingReplica,
  upgrading: stepUpgrading,
  verifying: stepVerifying,
  'recreating-replica': stepRecreatingReplica,
};

/** plan=upgrade: prints the plan without `confirm`; with it (and a recent rehearsal) advances the upgrade. */
export async function upgradeProduction(u: ProductionUpgrade, fromVersion: string): Promise<JobOutcome> {
  const { serverName, replicaName } = u.azure.postgres.coordinates;
  let active = await activeRecord(u.ctx.db, 'upgrade');
  if (!active) {
    const rehearsal = await latestRecord(u.ctx.db, 'rehearsal', { passedTarget: String(u.target) });
    const maxAgeMs = u.s.rehearsalMaxAgeDays * DAY;
    const fresh = rehearsal?.finishedAt && u.now.getTime() - rehearsal.finishedAt.getTime() <= maxAgeMs ? rehearsal : null;
    const replicaServer = replicaName ? await findServer(u, replicaName) : null;
    const replica: ReplicaPlan | null = replicaServer?.name
      ? { name: replicaServer.name, location: replicaServer.location ?? '', ...(replicaServer.sku?.name ? { skuName: replicaServer.sku.name } : {}), ...(replicaServer.sku?.tier ? { skuTier: replicaServer.sku.tier } : {}) }
      : null;
    const plan = planActions(u, replica);
    const gate = fresh
      ? `rehearsal #${fresh.id} passed ${fresh.finishedAt!.toISOString()} (expected downtime ${String(fresh.measurements.expectedDowntimeMinutes ?? '?')} min)`
      : `no successful rehearsal of PostgreSQL ${u.target} within ${u.s.rehearsalMaxAgeDays} days (DBOPS_UPGRADE_REHEARSAL_MAX_AGE_DAYS): run plan=rehearse target=${u.target} first`;
    if (!fresh) {
      return {
        status: u.confirm ? 'failed' : 'warning',
        summary: `Upgrade of ${serverName} to PostgreSQL ${u.target} not allowed: ${gate}.`,
        findings: [...u.findings, { check: 'upgrade.rehearsal-required', severity: 'warning', target: serverName, message: gate, remedy: `dbops run version-upgrade --param plan=rehearse --param target=${u.target}` }],
        actions: plan,
      };
    }
    if (u.confirm !== serverName || u.ctx.dryRun) {
      return {
        status: 'ok',
        summary: `Plan for upgrading ${serverName} from PostgreSQL ${fromVersion} to ${u.target} (${gate}). ${u.ctx.dryRun ? 'Dry run: nothing done.' : `Nothing done: add confirm=${serverName} to run it.`}`,
        findings: u.confirm && u.confirm !== serverName ? [{ check: 'upgrade.confirm', severity: 'warning', target: serverName, message: `confirm=${u.confirm} does not name the server (${serverName})` }] : u.findings,
        actions: plan,
        data: { rehearsal: fresh.id, expectedDowntimeMinutes: fresh.measurements.expectedDowntimeMinutes ?? null },
      };
    }
    const restorePoint = u.ctx.now();
    active = await startRecord(u.ctx, {
      kind: 'upgrade',
      state: 'removing-replica',
      sourceServer: serverName,
      serverName: () => serverName,
      fromVersion,
      targetVersion: String(u.target),
      restorePoint,
      startedAt: restorePoint,
      deadlineMinutes: u.s.deadlineMinutes,
      details: { rehearsal: fresh.id, expectedDowntimeMinutes: fresh.measurements.expectedDowntimeMinutes ?? null, ...(replica ? { replica } : {}) },
    });
    step(u, `upgrade of ${serverName} to PostgreSQL ${u.target} begins; restore point recorded: ${restorePoint.toISOString()} (roll back: ${rollbackCommands(u, restorePoint)[0]})`, { rollback: rollbackCommands(u, restorePoint) });
  } else if (u.ctx.dryRun) {
    return { summary: `Upgrade #${active.id} of ${serverName} to PostgreSQL ${active.targetVersion} is ${active.state} (dry run: not advanced).`, findings: u.findings, data: { upgrade: active.id, state: active.state } };
  }
  if (active.targetVersion !== String(u.target)) {
    u.findings.push({ check: 'upgrade.other-target', severity: 'info', target: serverName, message: `upgrade #${active.id} to PostgreSQL ${active.targetVersion} is in flight; it is advanced, not replaced` });
  }
  const before = active.state;
  const stepFn = STEPS[active.state];
  const after = stepFn ? await stepFn(u, active) : active;
  if (u.now >= after.deadlineAt && after.state !== 'done') {
    u.findings.push({ check: 'upgrade.deadline', severity: 'critical', target: serverName, message: `upgrade #${after.id} is still ${after.state} past its deadline ${after.deadlineAt.toISOString()}; it is not abandoned: check the server in the portal` });
  }
  const rollback = rollbackCommands(u, after.restorePoint);
  const data = { upgrade: after.id, state: after.state, result: after.result, restorePoint: after.restorePoint.toISOString(), rollback, ...after.measurements };
  if (after.state === 'done') {
    const passed = after.result === 'passed';
    return {
      summary: passed
        ? `Upgrade #${after.id}: ${serverName} runs PostgreSQL ${String(after.measurements.version ?? after.targetVersion)} (downtime ${String(after.measurements.downtimeMinutes ?? '?')} min); verified; replica ${replicaOf(after)?.name ?? '(none)'} rebuilt. Rollback point ${after.restorePoint.toISOString()}.`
        : `Upgrade #${after.id} of ${serverName} to PostgreSQL ${after.targetVersion} ended failed: ${after.failure ?? '?'}. Rollback: ${rollback[0]}`,
      findings: [...u.findings, ...(passed ? [] : [{ check: 'upgrade.failed', severity: 'critical' as const, target: serverName, message: after.failure ?? 'failed' }])],
      actions: u.actions,
      data,
    };
  }
  return {
    summary: `Upgrade #${after.id} of ${serverName} to PostgreSQL ${after.targetVersion}: ${before === after.state ? `still ${after.state}` : `${before} → ${after.state}`}; run the same command again to continue.`,
    findings: u.findings,
    actions: u.actions,
    data,
  };
}
