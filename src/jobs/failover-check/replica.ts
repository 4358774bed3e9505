import type { AzureServices } from '../../platform/azure/index.js';
import { measureReplicaLag } from '../../platform/db/replica-lag.js';
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
  problems: string[];
}

/** The read replica as ARM sees it and, when DBOPS_REPLICA_URL is set, as it reports itself. */
export async function readReplica(azure: AzureServices, withServer: WithServer, replicaUrl: string | undefined, connectTimeoutSeconds: number): Promise<ReplicaStatus> {
  const name = azure.settings.replicaName ?? null;
  const out: ReplicaStatus = { name, snapshot: null, lagSeconds: null, inRecovery: null, problems: [] };
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
      const lag = await withServer({ kind: 'url', url: replicaUrl }, replica, (pool) => measureReplicaLag(pool, { idleIsCurrent: false }));
      out.inRecovery = lag.inRecovery;
      out.lagSeconds = lag.lagSeconds;
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
