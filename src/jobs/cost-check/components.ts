/**
 * Which part of the database deployment a cost line belongs to. The query groups by ResourceId
 * and MeterSubCategory: MeterCategory alone cannot separate compute, storage and backup (all
 * three are "Azure Database for PostgreSQL"), while the subcategory ("… Dsv3 Series Compute",
 * "… Flexible Server Storage", "… Flexible Server Backup Storage") can, and the resource id
 * tells the primary from the replica and the private endpoint or workspace from the servers.
 * HA has no meter of its own: the standby is billed on the primary's compute and storage meters
 * (doubling them), so when the server runs HA, half of those lines is the standby's.
 * Extended support (a server on a major past Azure's standard support, e.g. 14 from 2026-12-12)
 * is its own line: Azure bills it per vCore-hour on a meter of its own whose subcategory names
 * "Extended Support"; the exact meter name is not in Azure's published docs yet, so dbops matches
 * the words, on any server (primary or replica) but the restore-test copies.
 */
export const COMPONENTS = ['primaryCompute', 'haStandby', 'replica', 'storage', 'backupStorage', 'extendedSupport', 'network', 'monitoring', 'restoreServers', 'other'] as const;
export type Component = (typeof COMPONENTS)[number];

export const COMPONENT_LABELS: Record<Component, string> = {
  primaryCompute: 'primary compute',
  haStandby: 'HA standby',
  replica: 'replica',
  storage: 'storage',
  backupStorage: 'backup storage',
  extendedSupport: 'PostgreSQL extended support',
  network: 'network',
  monitoring: 'monitoring',
  restoreServers: 'backup-verification restore servers',
  other: 'other',
};

/** Plan section 9.1.1, per month (USD): the primary's $820 covers its compute, standby and storage. */
export const PLAN_MONTHLY = { primaryWithHaAndStorage: 820, replica: 290, backupStorage: 150, network: 80, monitoring: 60, total: 1400 } as const;

export interface Deployment {
  serverName?: string | undefined;
  replicaName?: string | undefined;
  /** The primary runs with a standby (zone-redundant or same-zone HA). */
  highAvailability: boolean;
  restorePrefixes: readonly string[];
  /** Resource ids (lower case) carrying the restore tag. */
  restoreResourceIds: ReadonlySet<string>;
}

export interface ResourceRef {
  provider: string;
  type: string;
  name: string;
}

/** `/subscriptions/…/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-1` → its provider, type and name (lower case). */
export function parseResourceId(resourceId: string): ResourceRef {
  const parts = resourceId.toLowerCase().split('/').filter(Boolean);
  const at = parts.lastIndexOf('providers');
  if (at < 0 || parts.length < at + 4) return { provider: '', type: '', name: parts.at(-1) ?? '' };
  return { provider: parts[at + 1] ?? '', type: parts[at + 2] ?? '', name: parts[at + 3] ?? '' };
}

const MONITORING_PROVIDERS = new Set(['microsoft.operationalinsights', 'microsoft.insights', 'microsoft.monitor', 'microsoft.alertsmanagement']);
const MONITORING_METER = /log analytics|analytics logs|azure monitor|application insights|\bmetrics?\b|\balerts?\b/i;
const NETWORK_METER = /bandwidth|data transfer|inter-?region|intra continent|inter ?continent|egress|ingress|private link|private endpoint|virtual network|ip address/i;
const BACKUP_METER = /backup/i;
// Microsoft documents no meter name for extended support: its page (learn.microsoft.com/azure/postgresql/
// configure-maintain/extended-support) and the pricing page it links give prices, not meter names.
// So a server's meter subcategory containing "extended support", "extended-support" or
// "extendedsupport" (any case) counts.
const EXTENDED_SUPPORT_METER = /extended[ -]?support/i;
const COMPUTE_METER = /compute|vcore/i;
const STORAGE_METER = /storage|iops|throughput|disk/i;

/** The component(s) a line is charged to, with the share of its cost each takes. */
export function allocate(resourceId: string, meter: string, deployment: Deployment): Array<[Component, number]> {
  const ref = parseResourceId(resourceId);
  const isServer = ref.provider === 'microsoft.dbforpostgresql' && ref.type === 'flexibleservers';
  if (isServer && isRestoreServer(resourceId, ref.name, deployment)) return [['restoreServers', 1]];
  if (MONITORING_PROVIDERS.has(ref.provider) || MONITORING_METER.test(meter)) return [['monitoring', 1]];
  if (ref.provider === 'microsoft.network' || NETWORK_METER.test(meter)) return [['network', 1]];
  if (!isServer) return [['other', 1]];
  if (EXTENDED_SUPPORT_METER.test(meter)) return [['extendedSupport', 1]];
  if (BACKUP_METER.test(meter)) return [['backupStorage', 1]];
  const server = deployment.serverName?.toLowerCase();
  const replica = deployment.replicaName?.toLowerCase();
  // Without a configured replica name, a second server in the scope is taken to be the replica.
  const isPrimary = server ? ref.name === server : ref.name !== replica;
  if (!isPrimary) return replica === undefined || ref.name === replica ? [['replica', 1]] : [['other', 1]];
  const own: Component | undefined = COMPUTE_METER.test(meter) ? 'primaryCompute' : STORAGE_METER.test(meter) ? 'storage' : undefined;
  if (!own) return [['other', 1]];
  return deployment.highAvailability ? [[own, 0.5], ['haStandby', 0.5]] : [[own, 1]];
}

export const isComputeMeter = (meter: string): boolean => COMPUTE_METER.test(meter) && !BACKUP_METER.test(meter) && !EXTENDED_SUPPORT_METER.test(meter);

export function isRestoreServer(resourceId: string, name: string, deployment: Deployment): boolean {
  return deployment.restoreResourceIds.has(resourceId.toLowerCase()) || deployment.restorePrefixes.some((p) => name.startsWith(p.toLowerCase()));
}

/** "flexibleServers/pg-1 · Flexible Server Storage": how a line is named in findings. */
export function lineLabel(resourceId: string, meter: string): string {
  const ref = parseResourceId(resourceId);
  const resource = ref.type ? `${ref.type}/${ref.name}` : ref.name || '(no resource)';
  return `${resource} · ${meter || '(no meter subcategory)'}`;
}
