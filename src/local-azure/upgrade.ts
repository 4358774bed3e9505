import { ArmFailure, armError, type EmulatorCore, type EmulatorResponse } from './core.js';
import type { EmulatedServer, PostgresState } from './postgres.js';

/**
 * The in-place major-version upgrade (PATCH `{ properties: { version, createMode: 'Update' } }`,
 * api-version 2025-08-01) and read-replica creation (PUT `createMode: 'Replica'`), as Azure
 * documents them: refused at once for a version it does not offer or a server with read
 * replicas; otherwise a long-running operation during which the server is `Updating` and HA is
 * off, that runs Azure's pre-check (a failing one ends the operation `Failed`, nothing changed),
 * then upgrades. A failed upgrade (an `lro-fail` fault on operation `servers.upgrade`) ends
 * `Failed` with the server restored from the snapshot Azure took: same version, Ready, HA back.
 */
export interface UpgradeRequest {
  server: EmulatedServer;
  from: string;
  version: string;
}

/** What a real upgrade produced: where the upgraded server's database now lives (a server of the new major). */
export interface UpgradeResult {
  fullyQualifiedDomainName?: string;
  tags?: Record<string, string>;
  minorVersion?: string;
}

export interface UpgradeHooks {
  /** Azure's pre-check: a message fails the upgrade before anything changes. */
  upgradePrecheck?: (request: UpgradeRequest) => string | undefined | Promise<string | undefined>;
  /** Runs while the upgrade is in progress (a test copies the database to a server of the target major). */
  onUpgrade?: (request: UpgradeRequest) => Promise<UpgradeResult | void>;
}

export interface EmulatedUpgrade {
  server: string;
  from: string;
  to: string;
  outcome: 'in-progress' | 'succeeded' | 'precheck-failed' | 'failed-restored';
  error?: string;
}

/** Majors Azure offers as upgrade targets. */
const OFFERED = ['15', '16', '17', '18'];

interface Context {
  core: EmulatorCore;
  state: PostgresState;
  subscriptionId: string;
  provider: string;
}

export function majorVersionUpgrade(c: Context, s: EmulatedServer, version: string | undefined): EmulatorResponse {
  const from = s.version;
  if (!version || !OFFERED.includes(version) || Number(version) <= Number(from)) {
    return armError(400, 'InvalidMajorVersionUpgrade', `Upgrading server '${s.name}' from PostgreSQL ${from} to '${version ?? ''}' is not supported; choose a later major version among ${OFFERED.join(', ')}.`);
  }
  if (s.state !== 'Ready') return armError(409, 'ServerIsBusy', `Server '${s.name}' is ${s.state}; try again when it is Ready.`);
  const replicas = [...c.state.servers.values()].filter((r) => r.sourceServerName?.toLowerCase() === s.name.toLowerCase());
  if (replicas.length) {
    return armError(400, 'MajorVersionUpgradeBlockedByReplicas', `Server '${s.name}' has read replicas (${replicas.map((r) => r.name).join(', ')}); delete them before a major version upgrade and recreate them after.`);
  }
  const record: EmulatedUpgrade = { server: s.name, from, to: version, outcome: 'in-progress' };
  c.state.upgrades.push(record);
  const ha = { ...s.highAvailability };
  s.state = 'Updating';
  if (ha.mode !== 'Disabled') s.highAvailability = { mode: ha.mode, state: 'NotEnabled' };
  let result: UpgradeResult | void;
  let precheckFailure: string | undefined;
  const request = { server: s, from, version };
  const headers = c.core.startOperation({
    operation: 'servers.upgrade',
    location: s.location,
    subscriptionId: c.subscriptionId,
    provider: c.provider,
    work: async () => {
      precheckFailure = await c.state.hooks.upgradePrecheck?.(request);
      if (precheckFailure) throw new ArmFailure('MajorVersionUpgradePrecheckFailed', `The major version upgrade pre-check failed: ${precheckFailure}`);
      result = await c.state.hooks.onUpgrade?.(request);
    },
    onSuccess: () => {
      s.state = 'Ready';
      s.version = version;
      s.minorVersion = result?.minorVersion ?? '1';
      s.highAvailability = ha;
      if (result?.fullyQualifiedDomainName) s.fullyQualifiedDomainName = result.fullyQualifiedDomainName;
      if (result?.tags) s.tags = { ...s.tags, ...result.tags };
      record.outcome = 'succeeded';
    },
    onFailure: () => {
      // Azure restores the snapshot it took before the upgrade: the server is as it was.
      s.state = 'Ready';
      s.version = from;
      s.highAvailability = ha;
      record.outcome = precheckFailure ? 'precheck-failed' : 'failed-restored';
      if (precheckFailure) record.error = precheckFailure;
    },
  });
  return { status: 202, headers };
}

export function createReplica(c: Context, name: string, input: { location?: string; sku?: { name?: string; tier?: string }; sourceServerResourceId?: string; tags?: Record<string, string> }): EmulatorResponse {
  const sourceName = (input.sourceServerResourceId ?? '').split('/').pop() ?? '';
  const source = c.state.servers.get(sourceName.toLowerCase());
  if (!source) return armError(404, 'SourceServerNotFound', `The source server '${input.sourceServerResourceId ?? ''}' of the replica was not found.`);
  if (c.state.servers.has(name.toLowerCase())) return armError(409, 'ServerNameAlreadyExists', `Specified server name '${name}' is already used.`);
  const replica = c.state.addServer({
    name,
    location: input.location ?? source.location,
    sku: { name: input.sku?.name ?? source.sku.name, tier: input.sku?.tier ?? source.sku.tier },
    state: 'Provisioning',
    version: source.version,
    minorVersion: source.minorVersion,
    replicationRole: 'AsyncReplica',
    sourceServerName: source.name,
    highAvailability: { mode: 'Disabled', state: 'NotEnabled' },
    geoRedundantBackup: 'Disabled',
    ...(input.tags ? { tags: input.tags } : {}),
  });
  const headers = c.core.startOperation({
    operation: 'servers.createReplica',
    location: replica.location,
    subscriptionId: c.subscriptionId,
    provider: c.provider,
    onSuccess: () => void (replica.state = 'Ready'),
    onFailure: () => void c.state.servers.delete(name.toLowerCase()),
  });
  return { status: 202, headers };
}
