import type { SimplePollerLike, OperationState } from '@azure/core-lro';
import type {
  PostgreSQLManagementFlexibleServerClient,
  Server,
  ServerForPatch,
  BackupAutomaticAndOnDemand as ServerBackup,
} from '@azure/arm-postgresql-flexible';
import { AzureOperationError, azureError, callAzure } from './errors.js';
import type { ClientFactoryOptions } from './options.js';
import { sleep } from '../../shared/async.js';

export type { Server, ServerBackup };

export interface ServerCoordinates {
  subscriptionId: string;
  resourceGroup: string;
  serverName: string;
  replicaName?: string;
  location: string;
}

/** Operation kinds whose pollers can be stored and resumed by a later invocation. */
export type LongOperationKind = 'restore' | 'delete' | 'restart' | 'update';

/**
 * A long-running Azure operation that may outlive the invocation that started it: `serialize()`
 * gives a string to keep (in a table); `FlexibleServers.resume()` takes it back.
 */
export interface LongOperation<T> {
  readonly kind: LongOperationKind;
  /** e.g. "flexible server pg-restore-1" */
  readonly resource: string;
  readonly operation: string;
  isDone(): boolean;
  /** One status request; never throws for a failed operation (see `wait`). */
  poll(): Promise<void>;
  /**
   * Polls until done. Rejects with AzureOperationError when the operation fails, and when
   * `deadlineMs` (default DBOPS_AZURE_OPERATION_DEADLINE_MINUTES) passes first, with code
   * `DeadlineReached` (the operation keeps running in Azure: serialize and resume it).
   */
  wait(options?: { deadlineMs?: number; signal?: AbortSignal }): Promise<T>;
  serialize(): string;
}

interface Serialized {
  v: 1;
  kind: LongOperationKind;
  serverName: string;
  operation: string;
  poller: string;
}

export type PromoteMode = 'standalone' | 'switchover';
export type PromoteOption = 'planned' | 'forced';

export interface FlexibleServers {
  readonly coordinates: ServerCoordinates;
  /** ARM id of a server in the configured resource group. */
  serverId(name?: string): string;
  getServer(name?: string): Promise<Server>;
  listReplicas(name?: string): Promise<Server[]>;
  /** Every flexible server in the configured resource group (e.g. to find leftover temporary servers). */
  listServers(): Promise<Server[]>;
  listBackups(name?: string): Promise<ServerBackup[]>;
  /** Creates `targetServerName` from the source's backups as of `pointInTime` (hours, usually). */
  beginPointInTimeRestore(input: { targetServerName: string; pointInTime: Date; sourceServerName?: string; location?: string; tags?: Record<string, string> }): Promise<LongOperation<Server>>;
  beginDelete(name: string): Promise<LongOperation<void>>;
  /** Restart; with `failover` the HA standby takes over (Planned waits for sync, Forced does not). */
  beginRestart(input?: { name?: string; failover?: 'Planned' | 'Forced' }): Promise<LongOperation<void>>;
  /** Promotes a read replica: to a standalone server, or switching roles with its primary. */
  beginPromoteReplica(input: { replicaName?: string; mode: PromoteMode; option: PromoteOption }): Promise<LongOperation<Server>>;
  /**
   * In-place major-version upgrade: PATCH `{ properties: { version, createMode: 'Update' } }`
   * (api-version 2025-08-01, example ServersUpdateWithMajorVersionUpgrade.json); Azure runs its
   * pre-check, snapshots, upgrades, and restores the snapshot itself if the upgrade fails.
   */
  beginMajorVersionUpgrade(input: { name?: string; version: string }): Promise<LongOperation<Server>>;
  /** Creates a read replica of `sourceServerName` (default the configured server) in `location`. */
  beginCreateReplica(input: { replicaName: string; location: string; sourceServerName?: string; skuName?: string; skuTier?: string; tags?: Record<string, string> }): Promise<LongOperation<Server>>;
  /** Resumes an operation from `LongOperation.serialize()`, in this or another process. */
  resume(serialized: string): Promise<LongOperation<Server | void>>;
}

const describe = (name: string) => `flexible server ${name}`;

export function createFlexibleServers(
  loadClient: () => Promise<PostgreSQLManagementFlexibleServerClient>,
  coordinates: ServerCoordinates,
  options: ClientFactoryOptions & { defaultDeadlineMs?: number },
): FlexibleServers {
  const { resourceGroup: rg } = coordinates;
  const name = (n?: string) => n ?? coordinates.serverName;
  const lroOptions = (resumeFrom?: string) => ({
    ...(options.pollIntervalMs !== undefined ? { updateIntervalInMs: options.pollIntervalMs } : {}),
    ...(resumeFrom ? { resumeFrom } : {}),
  });

  function wrap<R, T>(kind: LongOperationKind, serverName: string, operation: string, poller: SimplePollerLike<OperationState<R>, R>, map: (r: R | undefined) => T): LongOperation<T> {
    const resource = describe(serverName);
    const failure = () => {
      const state = poller.getOperationState();
      // core-lro flattens the service's error into "The long-running operation has failed. <code>. <message>".
      const m = /^The long-running operation has failed\. (\S+?)\. ([\s\S]*)$/.exec(state.error?.message ?? '');
      if (m) return new AzureOperationError(operation, resource, undefined, m[1], `the operation failed in Azure: ${m[2]}`);
      return azureError(state.error ?? new Error(`operation ended ${state.status}`), operation, resource);
    };
    return {
      kind,
      resource,
      operation,
      isDone: () => poller.isDone(),
      async poll() {
        if (poller.isDone()) return;
        await poller.poll().catch((err: unknown) => {
          // A failed operation is a result, read by wait(); a failed request is an error.
          if (poller.getOperationState().status !== 'failed') throw azureError(err, operation, resource);
        });
      },
      async wait({ deadlineMs = options.defaultDeadlineMs, signal } = {}) {
        const until = deadlineMs === undefined ? Infinity : Date.now() + deadlineMs;
        // Giving up waiting never stops the operation in Azure: an aborted wait (the invocation
        // running out of time) is reported like a reached deadline, so callers keep its state.
        const stillRunning = (why: string) =>
          new AzureOperationError(operation, resource, undefined, 'DeadlineReached', `still running (${why}); it continues in Azure — resume it later from its serialized state.`);
        const aborted = () => stillRunning(`stopped waiting: ${signal?.reason instanceof Error ? signal.reason.message : 'aborted'}`);
        while (!poller.isDone()) {
          if (signal?.aborted) throw aborted();
          if (Date.now() >= until) throw stillRunning(`after ${Math.round((deadlineMs ?? 0) / 1000)} s`);
          await this.poll();
          if (!poller.isDone()) {
            await sleep(Math.min(options.pollIntervalMs ?? 10_000, Math.max(0, until - Date.now())), signal).catch((err: unknown) => {
              throw signal?.aborted ? aborted() : err;
            });
          }
        }
        const state = poller.getOperationState();
        if (state.status !== 'succeeded') throw failure();
        return map(poller.getResult());
      },
      serialize: () => JSON.stringify({ v: 1, kind, serverName, operation, poller: poller.toString() } satisfies Serialized),
    };
  }

  const asServer = (r: Server | undefined): Server => r ?? ({} as Server);
  const asVoid = (): void => undefined;

  const api: FlexibleServers = {
    coordinates,
    serverId: (n) =>
      `/subscriptions/${coordinates.subscriptionId}/resourceGroups/${rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${name(n)}`,
    getServer: (n) => callAzure('get server', describe(name(n)), async () => (await loadClient()).servers.get(rg, name(n))),
    listReplicas: (n) =>
      callAzure('list replicas', describe(name(n)), async () => {
        const out: Server[] = [];
        for await (const s of (await loadClient()).replicas.listByServer(rg, name(n))) out.push(s);
        return out;
      }),
    listServers: () =>
      callAzure('list servers', `resource group ${rg}`, async () => {
        const out: Server[] = [];
        for await (const s of (await loadClient()).servers.listByResourceGroup(rg)) out.push(s);
        return out;
      }),
    listBackups: (n) =>
      callAzure('list backups', describe(name(n)), async () => {
        const out: ServerBackup[] = [];
        for await (const b of (await loadClient()).backupsAutomaticAndOnDemand.listByServer(rg, name(n))) out.push(b);
        return out;
      }),
    async beginPointInTimeRestore({ targetServerName, pointInTime, sourceServerName, location, tags }) {
      const operation = `point-in-time restore of ${name(sourceServerName)} to ${pointInTime.toISOString()}`;
      const parameters: Server = {
        location: location ?? coordinates.location,
        createMode: 'PointInTimeRestore',
        sourceServerResourceId: api.serverId(sourceServerName),
        pointInTimeUTC: pointInTime,
        ...(tags ? { tags } : {}),
      };
      const poller = await callAzure(operation, describe(targetServerName), async () =>
        (await loadClient()).servers.beginCreateOrUpdate(rg, targetServerName, parameters, lroOptions()),
      );
      return wrap('restore', targetServerName, operation, poller, asServer);
    },
    async beginDelete(serverName) {
      const operation = 'delete server';
      const poller = await callAzure(operation, describe(serverName), async () => (await loadClient()).servers.beginDelete(rg, serverName, lroOptions()));
      return wrap('delete', serverName, operation, poller, asVoid);
    },
    async beginRestart({ name: n, failover } = {}) {
      const operation = failover ? `restart with ${failover.toLowerCase()} failover` : 'restart';
      const parameters = failover ? { restartWithFailover: true, failoverMode: failover === 'Planned' ? 'PlannedFailover' : 'ForcedFailover' } : undefined;
      const poller = await callAzure(operation, describe(name(n)), async () =>
        (await loadClient()).servers.beginRestart(rg, name(n), { ...lroOptions(), ...(parameters ? { parameters } : {}) }),
      );
      return wrap('restart', name(n), operation, poller, asVoid);
    },
    async beginPromoteReplica({ replicaName, mode, option }) {
      const replica = replicaName ?? coordinates.replicaName;
      if (!replica) throw new AzureOperationError('promote replica', 'read replica', undefined, 'NotConfigured', 'no replica named: set DBOPS_AZURE_REPLICA_NAME.');
      const operation = `promote replica (${mode}, ${option})`;
      const patch: ServerForPatch = {
        replica: { promoteMode: mode === 'standalone' ? 'Standalone' : 'Switchover', promoteOption: option === 'planned' ? 'Planned' : 'Forced' },
      };
      const poller = await callAzure(operation, describe(replica), async () => (await loadClient()).servers.beginUpdate(rg, replica, patch, lroOptions()));
      return wrap('update', replica, operation, poller, asServer);
    },
    async beginMajorVersionUpgrade({ name: n, version }) {
      const operation = `major-version upgrade to PostgreSQL ${version}`;
      const patch: ServerForPatch = { version, createMode: 'Update' };
      const poller = await callAzure(operation, describe(name(n)), async () => (await loadClient()).servers.beginUpdate(rg, name(n), patch, lroOptions()));
      return wrap('update', name(n), operation, poller, asServer);
    },
    async beginCreateReplica({ replicaName, location, sourceServerName, skuName, skuTier, tags }) {
      const operation = `create read replica of ${name(sourceServerName)} in ${location}`;
      const parameters: Server = {
        location,
        createMode: 'Replica',
        sourceServerResourceId: api.serverId(sourceServerName),
        ...(skuName ? { sku: { name: skuName, tier: skuTier ?? 'GeneralPurpose' } } : {}),
        ...(tags ? { tags } : {}),
      };
      const poller = await callAzure(operation, describe(replicaName), async () => (await loadClient()).servers.beginCreateOrUpdate(rg, replicaName, parameters, lroOptions()));
      return wrap('restore', replicaName, operation, poller, asServer);
    },
    async resume(serialized) {
      let s: Serialized;
      try {
        s = JSON.parse(serialized) as Serialized;
        if (s.v !== 1 || typeof s.poller !== 'string') throw new Error('unknown format');
      } catch (err) {
        throw new AzureOperationError('resume operation', 'stored operation state', undefined, 'InvalidState', `the stored state cannot be read (${(err as Error).message}).`);
      }
      const client = await loadClient();
      const resume = lroOptions(s.poller);
      return callAzure(`resume ${s.operation}`, describe(s.serverName), async (): Promise<LongOperation<Server | void>> => {
        switch (s.kind) {
          case 'restore':
            return wrap(s.kind, s.serverName, s.operation, await client.servers.beginCreateOrUpdate(rg, s.serverName, {} as Server, resume), asServer);
          case 'update':
            return wrap(s.kind, s.serverName, s.operation, await client.servers.beginUpdate(rg, s.serverName, {}, resume), asServer);
          case 'delete':
            return wrap(s.kind, s.serverName, s.operation, await client.servers.beginDelete(rg, s.serverName, resume), asVoid);
          case 'restart':
            return wrap(s.kind, s.serverName, s.operation, await client.servers.beginRestart(rg, s.serverName, resume), asVoid);
        }
      });
    },
  };
  return api;
}
