import type { AzureServices, LongOperation } from '../../platform/azure/index.js';
import { AzureOperationError } from '../../platform/azure/index.js';
import type { Action, Finding, JobContext, JobOutcome } from '../../shared/job.js';
import { errorMessage } from '../../platform/redact.js';
import { measureEvent, seconds, type FailoverSettings } from './measure.js';
import { readReplica } from './replica.js';
import { describeSnapshot, readSnapshot, type ServerSnapshot } from './server-state.js';
import { finishOperation, insertEvent, openOperation, readWatch, saveOperation } from './store.js';

export type Plan = 'promote-replica' | 'switchover' | 'drill';

interface RunbookInput {
  plan: Plan;
  confirm: string | undefined;
  option: 'planned' | 'forced' | undefined;
}

const az = (azure: AzureServices) => {
  const c = azure.postgres.coordinates;
  return { rg: c.resourceGroup, primary: c.serverName, replica: c.replicaName ?? azure.settings.replicaName ?? null, sub: c.subscriptionId };
};

/**
 * Region failover (plan 5.2.3 manual_failover, 12.2.1) and the failover drill (10.2.1), as a
 * runbook with this deployment's names. It only reads until `confirm` names the server the
 * step acts on, and never acts in a dry run.
 */
export async function runRunbook(ctx: JobContext, azure: AzureServices, s: FailoverSettings, input: RunbookInput): Promise<JobOutcome> {
  const n = az(azure);
  if (input.plan !== 'drill' && !n.replica) {
    return { status: 'failed', summary: 'No read replica configured: set DBOPS_AZURE_REPLICA_NAME to the Korea South replica before using the region failover runbook.' };
  }
  const actsOn = input.plan === 'drill' ? n.primary : n.replica!;
  const findings: Finding[] = [];
  const actions: Action[] = [];
  const steps: string[] = [];

  // 1. What the primary and the replica look like now.
  let primary: ServerSnapshot | null = null;
  let primaryProblem: string | null = null;
  try {
    primary = await readSnapshot(azure, n.primary);
  } catch (err) {
    primaryProblem = errorMessage(err);
  }
  steps.push(`1. Primary ${n.primary}: ${primary ? describeSnapshot(primary) : `unreadable (${primaryProblem})`}.`);

  const rpoSeconds = s.rpoMinutes * 60;
  if (input.plan !== 'drill') {
    const replica = await readReplica(azure, ctx.withServer, ctx.settings.replicaUrl, ctx.settings.connectTimeoutSeconds, ctx.db);
    const r = replica.snapshot;
    const lag = replica.lagSeconds;
    steps.push(
      `2. Replica ${n.replica}: ${r ? describeSnapshot(r) : `unreadable (${replica.problems.join('; ')})`}; replication ${r?.replicationState ?? '?'}; ` +
        (lag !== null ? `lag ${Math.round(lag)} s (RPO ${rpoSeconds} s: ${lag <= rpoSeconds ? 'within' : 'EXCEEDED'})` : 'lag unknown: set DBOPS_REPLICA_URL to read it from the replica, or check physical_replication_delay_in_seconds in Azure Monitor'),
    );
    if (!r || r.state !== 'Ready') findings.push({ check: 'failover.runbook.replica', severity: 'critical', target: n.replica!, message: `replica ${n.replica} is not Ready (${r?.state ?? 'unreadable'}): promotion would fail` });
    if (lag !== null && lag > rpoSeconds) {
      findings.push({ check: 'failover.runbook.rpo', severity: 'warning', target: n.replica!, message: `replica lag ${Math.round(lag)} s exceeds the RPO of ${s.rpoMinutes} min: promoting loses more data than the plan allows`, value: Math.round(lag), threshold: rpoSeconds, unit: 's' });
    }
  }

  const option = input.option ?? (input.plan === 'promote-replica' && (!primary || primary.state !== 'Ready') ? 'forced' : 'planned');
  const mode = input.plan === 'switchover' ? 'switchover' : 'standalone';
  if (input.plan === 'drill') {
    steps.push(
      `2. Restart ${n.primary} with a planned failover (maintenance window only): POST .../resourceGroups/${n.rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${n.primary}/restart {"restartWithFailover":true,"failoverMode":"PlannedFailover"}` +
        ` — az postgres flexible-server restart --resource-group ${n.rg} --name ${n.primary} --failover Planned`,
      `3. dbops measures until ${n.primary} accepts writes and compares with the plan's 60–120 s (DBOPS_FAILOVER_RTO_SECONDS=${s.failoverRtoSeconds}).`,
    );
  } else {
    const host = `${n.replica}.postgres.database.azure.com`;
    steps.push(
      `3. Promote: PATCH .../resourceGroups/${n.rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${n.replica} {"properties":{"replica":{"promoteMode":"${mode === 'switchover' ? 'Switchover' : 'Standalone'}","promoteOption":"${option === 'planned' ? 'Planned' : 'Forced'}"}}}` +
        ` — az postgres flexible-server replica promote --resource-group ${n.rg} --name ${n.replica} --promote-mode ${mode} --promote-option ${option}`,
      mode === 'switchover'
        ? `4. Switchover swaps roles: ${n.replica} becomes the primary and ${n.primary} its replica; point the application at ${host}.`
        : `4. Application: point the connection string host from ${primary?.fqdn ?? `${n.primary}.postgres.database.azure.com`} to ${host} (Key Vault secret / app setting, then restart the pods); dbops: DBOPS_PG_HOST or DATABASE_URL, and swap DBOPS_AZURE_SERVER_NAME / DBOPS_AZURE_REPLICA_NAME.`,
      `5. DNS: re-point the application's CNAME or the private DNS zone record (privatelink.postgres.database.azure.com) to ${host}; check the VNet link of the Korea South private endpoint.`,
      `6. Verify: dbops run failover-check (writable probe), then re-create a replica of the new primary to restore protection. Target: RTO ${s.rtoMinutes} min, RPO ${s.rpoMinutes} min.`,
    );
  }

  const confirmed = input.confirm === actsOn;
  const describeAction = input.plan === 'drill' ? `restart ${n.primary} with planned failover (drill)` : `promote replica ${n.replica} (${mode}, ${option})`;
  if (!confirmed || ctx.dryRun) {
    actions.push({ description: describeAction, status: 'planned', statement: steps.find((l) => /^(2|3)\. (Restart|Promote)/.test(l)) });
    const why = ctx.dryRun ? 'dry run' : input.confirm ? `confirm "${input.confirm}" does not name ${actsOn}` : `add --param confirm=${actsOn} to execute`;
    return { summary: `Runbook ${input.plan} (${why}; nothing changed):\n${steps.join('\n')}`, findings, actions, data: { plan: input.plan, steps, executed: false } };
  }

  // Execute (or resume a stored operation from an earlier run).
  const started = ctx.now();
  const stored = await openOperation(ctx.db, input.plan, actsOn);
  let event = null;
  let op: LongOperation<unknown>;
  try {
    if (stored) {
      op = await azure.postgres.resume(stored.serialized);
    } else {
      const before = primary;
      const watch = await readWatch(ctx.db, n.primary).catch(() => null);
      event = await insertEvent(ctx.db, {
        server: input.plan === 'drill' ? n.primary : actsOn,
        detectedBy: input.plan === 'drill' ? 'drill' : input.plan === 'switchover' ? 'switchover' : 'promote',
        signalId: null, signalKind: `runbook.${input.plan}`, cause: describeAction, signalAt: started, detectedAt: started,
        targetRtoSeconds: input.plan === 'drill' ? s.failoverRtoSeconds : s.rtoMinutes * 60,
        before, lastCommitBeforeAt: watch?.lastCommitAt ?? null, runId: ctx.runId,
      });
      op = input.plan === 'drill' ? await azure.postgres.beginRestart({ name: n.primary, failover: 'Planned' }) : await azure.postgres.beginPromoteReplica({ replicaName: actsOn, mode, option });
      await saveOperation(ctx.db, { plan: input.plan, server: actsOn, serialized: op.serialize(), eventId: event.id, startedAt: started });
    }
  } catch (err) {
    actions.push({ description: describeAction, status: 'failed', error: errorMessage(err) });
    return { status: 'critical', summary: `${describeAction} was refused: ${errorMessage(err)}`, findings: [...findings, { check: `failover.runbook.${input.plan}`, severity: 'critical', target: actsOn, message: `${describeAction} failed: ${errorMessage(err)}` }], actions, data: { plan: input.plan, steps, executed: false } };
  }
  const reopened = await openOperation(ctx.db, input.plan, actsOn);
  try {
    await op.wait({ deadlineMs: azure.settings.lroDeadlineMinutes * 60_000, signal: ctx.signal });
  } catch (err) {
    if (err instanceof AzureOperationError && err.code === 'DeadlineReached') {
      actions.push({ description: describeAction, status: 'done', details: { stillRunning: true } });
      return { status: 'warning', summary: `${describeAction} is still running in Azure after ${azure.settings.lroDeadlineMinutes} min; run the same command again to follow it.`, findings, actions, data: { plan: input.plan, steps, executed: true, pending: true } };
    }
    if (reopened) await finishOperation(ctx.db, reopened.id, `failed: ${errorMessage(err)}`);
    actions.push({ description: describeAction, status: 'failed', error: errorMessage(err) });
    return { status: 'critical', summary: `${describeAction} failed: ${errorMessage(err)}`, findings: [...findings, { check: `failover.runbook.${input.plan}`, severity: 'critical', target: actsOn, message: `${describeAction} failed: ${errorMessage(err)}` }], actions, data: { plan: input.plan, steps, executed: true } };
  }
  if (reopened) await finishOperation(ctx.db, reopened.id, 'succeeded');
  actions.push({ description: describeAction, status: 'done', durationMs: ctx.now().getTime() - started.getTime() });

  const eventRow = event ?? null;
  if (input.plan === 'drill' && eventRow) {
    const m = await measureEvent(ctx, azure, s, eventRow, { probeTarget: s.probeUrl ? { kind: 'url', url: s.probeUrl } : ctx.db.target, targetSeconds: s.failoverRtoSeconds, label: 'failover drill' });
    const rto = m.data.downtimeSeconds as number | undefined;
    const verdict = rto === undefined ? 'not writable within the probe bound' : rto < 60 ? `${rto} s, faster than the plan's 60 s` : rto <= 120 ? `${rto} s, within the plan's 60–120 s` : `${rto} s, ABOVE the plan's 60–120 s`;
    return { status: m.critical ? 'critical' : undefined, summary: `Drill: RTO ${verdict}. ${m.summary}`, findings: [...findings, ...m.findings.filter((f) => f.check !== 'failover.detected' || f.severity !== 'info'), ...m.findings.filter((f) => f.check === 'failover.detected' && f.severity === 'info').map((f) => ({ ...f, check: 'failover.drill' }))], actions, data: { ...m.data, plan: 'drill', steps } };
  }
  let after: ServerSnapshot | null = null;
  try {
    after = await readSnapshot(azure, actsOn);
  } catch {
    // reported below as unknown
  }
  return {
    summary: `${describeAction} succeeded in ${seconds(ctx.now().getTime() - started.getTime())} s; ${actsOn} is now ${after?.role ?? '?'} (${after?.state ?? '?'}). Next: steps 4–6 (connection settings, DNS, verify).\n${steps.join('\n')}`,
    findings: [...findings, { check: `failover.runbook.${input.plan}`, severity: 'info', target: actsOn, message: `${describeAction} succeeded; ${actsOn} is ${after?.role ?? '?'}` }],
    actions,
    data: { plan: input.plan, steps, executed: true, after },
  };
}
