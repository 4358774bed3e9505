import { armError, type EmulatorCore, type EmulatorResponse } from './core.js';
import { createReplica, majorVersionUpgrade, type EmulatedUpgrade, type UpgradeHooks } from './upgrade.js';

const PROVIDER = 'Microsoft.DBforPostgreSQL';
const SERVERS = `/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/${PROVIDER}/flexibleServers`;

export interface EmulatedServer {
  name: string;
  resourceGroup: string;
  location: string;
  sku: { name: string; tier: string };
  createdAt: string;
  state: 'Ready' | 'Provisioning' | 'Updating' | 'Restarting' | 'Dropping' | 'Stopped' | (string & {});
  fullyQualifiedDomainName: string;
  version: string;
  minorVersion: string;
  availabilityZone: string;
  /** Standby zone when HA is on. */
  standbyAvailabilityZone?: string;
  highAvailability: { mode: 'Disabled' | 'ZoneRedundant' | 'SameZone'; state: string };
  replicationRole: 'Primary' | 'AsyncReplica' | 'GeoAsyncReplica' | 'None' | (string & {});
  /** Name of the primary a replica follows. */
  sourceServerName?: string;
  replicationState?: string;
  backupRetentionDays: number;
  geoRedundantBackup: 'Enabled' | 'Disabled';
  earliestRestoreDate: string;
  storageSizeGB: number;
  tags?: Record<string, string>;
  /** What restored it, when it came from a point-in-time restore. */
  restoredFrom?: { server: string; pointInTime: string };
}

export interface EmulatedBackup {
  name: string;
  backupType: 'Full' | 'Customer On-Demand' | (string & {});
  source: 'Automatic' | 'Manual' | (string & {});
  completedTime: string;
}

export interface RestoreRequest {
  source: EmulatedServer;
  targetServerName: string;
  pointInTime: Date;
}

/** What a real restore produced: where the restored server's copy lives. */
export interface RestoreResult {
  fullyQualifiedDomainName: string;
  /** Merged into the restored server's tags (they travel through the real SDK to the job). */
  tags?: Record<string, string>;
}

export interface PostgresHooks extends UpgradeHooks {
  /** Called when a point-in-time restore runs; the operation completes when it resolves. */
  onRestore?: (request: RestoreRequest) => Promise<RestoreResult | void>;
  /** Called when a server is deleted (drop the copy). */
  onDelete?: (server: EmulatedServer) => Promise<void>;
}

export interface PostgresState {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly servers: Map<string, EmulatedServer>;
  /** Backups per server name (listed newest last, like the service). */
  readonly backups: Map<string, EmulatedBackup[]>;
  /** Every restart asked for, in order. */
  readonly restarts: Array<{ server: string; failover: boolean; failoverMode?: string }>;
  hooks: PostgresHooks;
  /** Every major-version upgrade asked for, with its outcome (see upgrade.ts). */
  readonly upgrades: EmulatedUpgrade[];
  addServer(server: Partial<EmulatedServer> & { name: string }): EmulatedServer;
  server(name: string): EmulatedServer;
  serverId(name: string): string;
}

export interface PostgresOptions {
  subscriptionId: string;
  resourceGroup: string;
  primary: string;
  replica: string;
  location: string;
}

const iso = (d: Date) => d.toISOString();

export function defaultServer(name: string, options: { resourceGroup: string; location: string }, now = new Date()): EmulatedServer {
  return {
    name,
    resourceGroup: options.resourceGroup,
    location: options.location,
    sku: { name: 'Standard_D4s_v3', tier: 'GeneralPurpose' },
    createdAt: iso(new Date(now.getTime() - 90 * 86400_000)),
    state: 'Ready',
    fullyQualifiedDomainName: `${name}.postgres.database.azure.com`,
    version: '14',
    minorVersion: '18',
    availabilityZone: '1',
    standbyAvailabilityZone: '2',
    highAvailability: { mode: 'ZoneRedundant', state: 'Healthy' },
    replicationRole: 'Primary',
    backupRetentionDays: 35,
    geoRedundantBackup: 'Enabled',
    earliestRestoreDate: iso(new Date(now.getTime() - 35 * 86400_000)),
    storageSizeGB: 256,
  };
}

/** The resource as the service returns it (2025-08-01 shape, see arm-2025-08-01-ServersGet.json). */
export function serverBody(s: EmulatedServer, subscriptionId: string): Record<string, unknown> {
  const replica = s.replicationRole !== 'Primary';
  return {
    sku: s.sku,
    systemData: { createdAt: s.createdAt },
    properties: {
      replica: { role: s.replicationRole, capacity: replica ? 0 : 5, ...(replica ? { replicationState: s.replicationState ?? 'Active' } : {}) },
      storage: { type: '', iops: 1100, tier: 'P15', storageSizeGB: s.storageSizeGB, autoGrow: 'Enabled' },
      network: { publicNetworkAccess: 'Disabled' },
      privateEndpointConnections: [],
      dataEncryption: { type: 'SystemManaged' },
      authConfig: { activeDirectoryAuth: 'Enabled', passwordAuth: 'Enabled' },
      fullyQualifiedDomainName: s.fullyQualifiedDomainName,
      version: s.version,
      minorVersion: s.minorVersion,
      administratorLogin: 'pgadmin',
      state: s.state,
      availabilityZone: s.availabilityZone,
      backup: { backupRetentionDays: s.backupRetentionDays, geoRedundantBackup: s.geoRedundantBackup, earliestRestoreDate: s.earliestRestoreDate },
      highAvailability: {
        mode: s.highAvailability.mode,
        state: s.highAvailability.state,
        ...(s.highAvailability.mode !== 'Disabled' && s.standbyAvailabilityZone ? { standbyAvailabilityZone: s.standbyAvailabilityZone } : {}),
      },
      maintenanceWindow: { customWindow: 'Enabled', dayOfWeek: 0, startHour: 18, startMinute: 0 },
      replicationRole: s.replicationRole,
      replicaCapacity: replica ? 0 : 5,
    },
    location: s.location,
    ...(s.tags ? { tags: s.tags } : {}),
    id: `/subscriptions/${subscriptionId}/resourceGroups/${s.resourceGroup}/providers/${PROVIDER}/flexibleServers/${s.name}`,
    name: s.name,
    type: `${PROVIDER}/flexibleServers`,
  };
}

function dailyBackups(serverName: string, days: number, now = new Date()): EmulatedBackup[] {
  const out: EmulatedBackup[] = [];
  for (let i = days; i >= 1; i--) {
    // The plan's backup window: 02:00-04:00 KST, 17:00-19:00 UTC.
    const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - i, 17, 5, 20));
    if (d.getTime() > now.getTime()) continue;
    const stamp = d.toISOString().replace(/[-:]/g, '').slice(0, 15);
    out.push({ name: `daily_${stamp}`, backupType: 'Full', source: 'Automatic', completedTime: iso(new Date(d.getTime() + 3000)) });
  }
  return out.length ? out : [{ name: `daily_${serverName}`, backupType: 'Full', source: 'Automatic', completedTime: iso(now) }];
}

export function installPostgres(core: EmulatorCore, options: PostgresOptions): PostgresState {
  const { subscriptionId } = options;
  const servers = new Map<string, EmulatedServer>();
  const backups = new Map<string, EmulatedBackup[]>();
  const key = (n: string) => n.toLowerCase();
  const state: PostgresState = {
    subscriptionId,
    resourceGroup: options.resourceGroup,
    servers,
    backups,
    restarts: [],
    hooks: {},
    upgrades: [],
    addServer(partial) {
      const s = { ...defaultServer(partial.name, options), ...partial };
      servers.set(key(s.name), s);
      if (!backups.has(key(s.name))) backups.set(key(s.name), s.replicationRole === 'Primary' ? dailyBackups(s.name, 7) : []);
      return s;
    },
    server(name) {
      const s = servers.get(key(name));
      if (!s) throw new Error(`emulator has no server ${name}`);
      return s;
    },
    serverId: (name) => `/subscriptions/${subscriptionId}/resourceGroups/${options.resourceGroup}/providers/${PROVIDER}/flexibleServers/${name}`,
  };
  state.addServer({ name: options.primary });
  state.addServer({
    name: options.replica,
    location: 'koreasouth',
    sku: { name: 'Standard_D2s_v3', tier: 'GeneralPurpose' },
    replicationRole: 'AsyncReplica',
    sourceServerName: options.primary,
    highAvailability: { mode: 'Disabled', state: 'NotEnabled' },
    geoRedundantBackup: 'Disabled',
  });

  const notFound = (name: string, rg: string) =>
    armError(404, 'ResourceNotFound', `The Resource '${PROVIDER}/flexibleServers/${name}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`);
  const find = (name: string) => servers.get(key(name));
  const upgradeContext = { core, state, subscriptionId, provider: PROVIDER };
  const accepted = (operation: string, location: string, hooks: { work?: () => Promise<void>; onSuccess?: () => void; onFailure?: () => void }): EmulatorResponse => ({
    status: 202,
    headers: core.startOperation({ operation, location, subscriptionId, provider: PROVIDER, ...hooks }),
  });

  core.addRoute({
    operation: 'servers.get',
    method: 'GET',
    path: `${SERVERS}/{serverName}`,
    handler: ({ params }) => {
      const s = find(params.serverName!);
      return s ? { status: 200, body: serverBody(s, subscriptionId) } : notFound(params.serverName!, params.resourceGroup!);
    },
  });

  core.addRoute({
    operation: 'servers.listByResourceGroup',
    method: 'GET',
    path: SERVERS,
    handler: ({ params }) => {
      const value = [...servers.values()].filter((s) => key(s.resourceGroup) === key(params.resourceGroup!)).map((s) => serverBody(s, subscriptionId));
      return { status: 200, body: { value } };
    },
  });

  core.addRoute({
    operation: 'servers.createOrUpdate',
    method: 'PUT',
    path: `${SERVERS}/{serverName}`,
    longRunning: true,
    handler: ({ params, body }) => {
      const input = (body ?? {}) as { location?: string; tags?: Record<string, string>; sku?: { name?: string; tier?: string }; properties?: { createMode?: string; sourceServerResourceId?: string; pointInTimeUTC?: string } };
      const target = params.serverName!;
      const p = input.properties ?? {};
      if (p.createMode === 'Replica') return createReplica(upgradeContext, target, { ...input, ...p });
      if (p.createMode !== 'PointInTimeRestore') {
        // Only restores are modelled; other creates just record the server.
        const s = state.addServer({ name: target, location: input.location ?? options.location, ...(input.tags ? { tags: input.tags } : {}), state: 'Provisioning' });
        return accepted('servers.createOrUpdate', s.location, { onSuccess: () => void (s.state = 'Ready'), onFailure: () => void servers.delete(key(target)) });
      }
      if (find(target)) return armError(409, 'ServerNameAlreadyExists', `Specified server name '${target}' is already used. Please use a different name and try again.`);
      const sourceName = (p.sourceServerResourceId ?? '').split('/').pop() ?? '';
      const source = find(sourceName);
      if (!source) return armError(404, 'SourceServerNotFound', `The source server '${p.sourceServerResourceId ?? ''}' of the restore was not found.`);
      const pointInTime = new Date(p.pointInTimeUTC ?? '');
      if (Number.isNaN(pointInTime.getTime()) || pointInTime < new Date(source.earliestRestoreDate) || pointInTime > new Date(Date.now() + 60_000)) {
        return armError(400, 'PointInTimeRestoreTimeInvalid', `The point in time '${p.pointInTimeUTC ?? ''}' is outside the restorable window (${source.earliestRestoreDate} to now).`);
      }
      const restored = state.addServer({
        name: target,
        location: input.location ?? source.location,
        sku: source.sku,
        state: 'Provisioning',
        // A restored server has no HA and is never a replica (FACTS: PITR).
        highAvailability: { mode: 'Disabled', state: 'NotEnabled' },
        replicationRole: 'Primary',
        ...(input.tags ? { tags: { ...input.tags } } : {}),
        restoredFrom: { server: source.name, pointInTime: iso(pointInTime) },
      });
      backups.set(key(target), []);
      let result: RestoreResult | void;
      return accepted('servers.createOrUpdate', restored.location, {
        work: async () => {
          result = await state.hooks.onRestore?.({ source, targetServerName: target, pointInTime });
        },
        onSuccess: () => {
          restored.state = 'Ready';
          if (result) {
            restored.fullyQualifiedDomainName = result.fullyQualifiedDomainName;
            if (result.tags) restored.tags = { ...restored.tags, ...result.tags };
          }
        },
        onFailure: () => void servers.delete(key(target)),
      });
    },
  });

  core.addRoute({
    operation: 'servers.update',
    method: 'PATCH',
    path: `${SERVERS}/{serverName}`,
    longRunning: true,
    handler: ({ params, body }) => {
      const s = find(params.serverName!);
      if (!s) return notFound(params.serverName!, params.resourceGroup!);
      const patch = (body ?? {}) as { tags?: Record<string, string>; properties?: { version?: string; createMode?: string; replica?: { promoteMode?: string; promoteOption?: string } } };
      if (patch.properties?.createMode === 'Update') return majorVersionUpgrade(upgradeContext, s, patch.properties.version);
      const promote = patch.properties?.replica;
      if (promote?.promoteMode) {
        if (s.replicationRole === 'Primary') return armError(400, 'ServerIsNotReplica', `Server '${s.name}' is not a read replica.`);
        const mode = promote.promoteMode.toLowerCase();
        const primary = s.sourceServerName ? find(s.sourceServerName) : undefined;
        s.state = 'Updating';
        return accepted('servers.update', s.location, {
          onSuccess: () => {
            s.state = 'Ready';
            if (mode === 'switchover' && primary) {
              primary.replicationRole = 'AsyncReplica';
              primary.sourceServerName = s.name;
              s.replicationRole = 'Primary';
              delete s.sourceServerName;
            } else {
              s.replicationRole = 'Primary';
              delete s.sourceServerName;
            }
          },
          onFailure: () => void (s.state = 'Ready'),
        });
      }
      if (patch.tags) s.tags = { ...patch.tags };
      return accepted('servers.update', s.location, {});
    },
  });

  core.addRoute({
    operation: 'servers.delete',
    method: 'DELETE',
    path: `${SERVERS}/{serverName}`,
    longRunning: true,
    handler: ({ params }) => {
      const s = find(params.serverName!);
      if (!s) return { status: 204 };
      s.state = 'Dropping';
      return accepted('servers.delete', s.location, {
        work: async () => state.hooks.onDelete?.(s),
        onSuccess: () => {
          servers.delete(key(s.name));
          backups.delete(key(s.name));
        },
        onFailure: () => void (s.state = 'Ready'),
      });
    },
  });

  core.addRoute({
    operation: 'servers.restart',
    method: 'POST',
    path: `${SERVERS}/{serverName}/restart`,
    longRunning: true,
    handler: ({ params, body }) => {
      const s = find(params.serverName!);
      if (!s) return notFound(params.serverName!, params.resourceGroup!);
      const input = (body ?? {}) as { restartWithFailover?: boolean; failoverMode?: string };
      const failover = input.restartWithFailover === true;
      if (failover && s.highAvailability.mode === 'Disabled') {
        return armError(400, 'HighAvailabilityNotEnabled', `Server '${s.name}' has no high availability: a restart with failover needs a standby.`);
      }
      state.restarts.push({ server: s.name, failover, ...(input.failoverMode ? { failoverMode: input.failoverMode } : {}) });
      s.state = 'Restarting';
      return accepted('servers.restart', s.location, {
        onSuccess: () => {
          s.state = 'Ready';
          if (failover && s.standbyAvailabilityZone) [s.availabilityZone, s.standbyAvailabilityZone] = [s.standbyAvailabilityZone, s.availabilityZone];
        },
        onFailure: () => void (s.state = 'Ready'),
      });
    },
  });

  core.addRoute({
    operation: 'replicas.listByServer',
    method: 'GET',
    path: `${SERVERS}/{serverName}/replicas`,
    handler: ({ params }) => {
      const s = find(params.serverName!);
      if (!s) return notFound(params.serverName!, params.resourceGroup!);
      const value = [...servers.values()].filter((r) => r.sourceServerName && key(r.sourceServerName) === key(s.name)).map((r) => serverBody(r, subscriptionId));
      return { status: 200, body: { value } };
    },
  });

  core.addRoute({
    operation: 'backups.listByServer',
    method: 'GET',
    path: `${SERVERS}/{serverName}/backups`,
    handler: ({ params }) => {
      const s = find(params.serverName!);
      if (!s) return notFound(params.serverName!, params.resourceGroup!);
      const value = (backups.get(key(s.name)) ?? []).map((b) => ({
        properties: { backupType: b.backupType, source: b.source, completedTime: b.completedTime },
        id: `${state.serverId(s.name)}/backups/${b.name}`,
        name: b.name,
        type: `${PROVIDER}/flexibleServers/backups`,
      }));
      return { status: 200, body: { value } };
    },
  });

  return state;
}

/** Status endpoints of every long-running operation the emulator starts. */
export function installOperationStatus(core: EmulatorCore): void {
  const base = '/subscriptions/{subscriptionId}/providers/{namespace}/locations/{location}';
  core.addRoute({
    operation: 'operations.status',
    method: 'GET',
    path: `${base}/azureAsyncOperation/{id}`,
    handler: async ({ params }) => {
      const op = core.operations.get(params.id!);
      if (!op) return armError(404, 'OperationNotFound', `Operation ${params.id} was not found.`);
      await core.advance(op);
      return {
        status: 200,
        body: { name: op.id, status: op.status, startTime: op.startTime, ...(op.endTime ? { endTime: op.endTime } : {}), ...(op.error ? { error: op.error } : {}) },
      };
    },
  });
  core.addRoute({
    operation: 'operations.result',
    method: 'GET',
    path: `${base}/operationResults/{id}`,
    handler: async ({ params, url }) => {
      const op = core.operations.get(params.id!);
      if (!op) return armError(404, 'OperationNotFound', `Operation ${params.id} was not found.`);
      await core.advance(op);
      if (op.status === 'InProgress') return { status: 202, headers: { Location: url.toString() } };
      if (op.status === 'Failed') return armError(400, op.error?.code ?? 'OperationFailed', op.error?.message ?? 'The operation failed.');
      return { status: 204 };
    },
  });
}
