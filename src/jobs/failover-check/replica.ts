import type { AzureServices } from '../../platform/azure/index.js';
import { measureReplicaLag, type ReplicaCondition } from '../../platform/db/replica-lag.js';
import type { Queryable } from '../../platform/db/sql.js';
import type { WithServer } from '../../platform/db/session.js';
import { errorMessage } from '../../platform/redact.js';
import type { Finding } from '../../shared/job.js';
import { readSnapshot, type ServerSnapshot } from './server-state.js';

export interface ReplicaStatus {
  name: string | null;
  snapshot: ServerSnapshot | null;
  /** From the replica itself (DBOPS_REPLICA_URL), when reachable. */
  lagSeconds: number | null;
  inRecovery: boolean | null;
  /** streaming and current, replaying, stopped or silent (see platform/db/replica-lag.ts); null when not read. */
  condition: ReplicaCondition | null;
  problems: string[];
}

/** Seconds without a message from the primary after which a connected WAL receiver counts as silent. */
const SILENT_AFTER_SECONDS = 60;

/**
 * The read replica as ARM sees it and, when DBOPS_REPLICA_URL is set, as it reports itself.
 * `primary` (the job's database, when it answers) lets an idle primary read as no lag and a
 * stopped stream read as lag; a primary that does not answer (mid-failover) is left out.
 */
export async function readReplica(azure: AzureServices, withServer: WithServer, replicaUrl: string | undefined, connectTimeoutSeconds: number, primary: Queryable | null = null): Promise<ReplicaStatus> {
  const name = azure.settings.replicaName ?? null;
  const out: ReplicaStatus = { name, snapshot: null, lagSeconds: null, inRecovery: null, condition: null, problems: [] };
  if (name) {
    try {
      out.snapshot = await readSnapshot(azure, name);
    } catch (err) {
      out.problems.push(`ARM: ${errorMessage(err)}`);
    }
  }
  if (replicaUrl) {
    try {
      const replica = { purpose: 'replica', timeouts: { connectTimeoutSeconds: Math.min(connectTimeoutSeconds, 10) } };
      const reachablePrimary = primary ? await primary.query('SELECT 1').then(() => primary, () => null) : null;
      const lag = await withServer({ kind: 'url', url: replicaUrl }, replica, (pool) => measureReplicaLag(pool, { primary: reachablePrimary, silentAfterSeconds: SILENT_AFTER_SECONDS }));
      out.inRecovery = lag.inRecovery;
      out.lagSeconds = lag.lagSeconds;
      out.condition = lag.condition;
    } catch (err) {
      out.problems.push(`replica connection: ${errorMessage(err)}`);
    }
  }
  return out;
}

export function replicaFindings(r: ReplicaStatus, lagWarningSeconds: number): Finding[] {
  if (!r.name) return [];
  const out: Finding[] = [];
  const s = r.snapshot;
  if (!s) {
    out.push({ check: 'failover.replica-state', severity: 'warning', target: r.name, message: `replica ${r.name} could not be read after the failover: ${r.problems.join('; ')}` });
    return out;
  }
  const healthy = s.state === 'Ready' && (s.replicationState === null || ['Active', 'Catchup', 'Updating'].includes(s.replicationState));
  if (!healthy) {
    out.push({
      check: 'failover.replica-state',
      severity: 'warning',
      target: r.name,
      message: `replica ${r.name} is ${s.state ?? '?'} with replication ${s.replicationState ?? '?'} after the failover`,
      value: `${s.state ?? '?'}/${s.replicationState ?? '?'}`,
    });
  }
  if (r.condition === 'stopped' || r.condition === 'silent') {
    out.push({
      check: 'failover.replica-stream',
      severity: 'warning',
      target: r.name,
      message: `replica ${r.name} is not receiving WAL after the failover (${r.condition === 'stopped' ? 'its WAL receiver is not streaming' : 'its WAL receiver hears nothing from the primary'})`,
      remedy: 'check the replica’s primary_conninfo points at the current primary (Azure re-points it after a promotion; a stuck one needs the replica re-created)',
    });
  }
  if (r.lagSeconds !== null && r.lagSeconds > lagWarningSeconds) {
    out.push({
      check: 'failover.replica-lag',
      severity: 'warning',
      target: r.name,
      message: `replica ${r.name} is ${Math.round(r.lagSeconds)} s behind after the failover`,
      value: Math.round(r.lagSeconds),
      threshold: lagWarningSeconds,
      unit: 's',
    });
  }
  return out;
}
