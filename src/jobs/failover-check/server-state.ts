import type { AzureServices, Server } from '../../platform/azure/index.js';

/** What ARM says about a server, as much of it as a failover changes. */
export interface ServerSnapshot {
  name: string;
  state: string | null;
  haMode: string | null;
  haState: string | null;
  zone: string | null;
  standbyZone: string | null;
  role: string | null;
  replicationState: string | null;
  fqdn: string | null;
}

export function snapshotOf(name: string, server: Server): ServerSnapshot {
  return {
    name,
    state: server.state ?? null,
    haMode: server.highAvailability?.mode ?? null,
    haState: server.highAvailability?.state ?? null,
    zone: server.availabilityZone ?? null,
    standbyZone: server.highAvailability?.standbyAvailabilityZone ?? null,
    role: server.replica?.role ?? server.replicationRole ?? null,
    replicationState: server.replica?.replicationState ?? null,
    fqdn: server.fullyQualifiedDomainName ?? null,
  };
}

export async function readSnapshot(azure: AzureServices, name?: string): Promise<ServerSnapshot> {
  const serverName = name ?? azure.postgres.coordinates.serverName;
  return snapshotOf(serverName, await azure.postgres.getServer(serverName));
}

const HEALTHY_HA = new Set(['Healthy', 'NotEnabled']);

/** The differences that mean a failover, an outage or a role change happened since `before`. */
export function changesSince(before: ServerSnapshot | null, now: ServerSnapshot): string[] {
  const out: string[] = [];
  if (now.state && now.state !== 'Ready') out.push(`state ${now.state}`);
  if (now.haState && !HEALTHY_HA.has(now.haState)) out.push(`HA ${now.haState}`);
  if (!before) return out;
  if (before.zone !== now.zone) out.push(`primary zone ${before.zone ?? '?'} → ${now.zone ?? '?'}`);
  if (before.role !== now.role) out.push(`role ${before.role ?? '?'} → ${now.role ?? '?'}`);
  if (before.fqdn !== now.fqdn) out.push(`host ${before.fqdn ?? '?'} → ${now.fqdn ?? '?'}`);
  return out;
}

export const describeSnapshot = (s: ServerSnapshot) =>
  `${s.name}: ${s.state ?? '?'}, ${s.role ?? '?'}, zone ${s.zone ?? '?'}${s.standbyZone ? ` (standby ${s.standbyZone})` : ''}, HA ${s.haMode ?? '?'}/${s.haState ?? '?'}`;

export const haHealthy = (s: ServerSnapshot) => s.haState === null || HEALTHY_HA.has(s.haState);
