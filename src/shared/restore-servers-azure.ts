import { azureRequires, AzureOperationError, type AzureServices, type Server } from '../platform/azure/index.js';
import type { ConnectionTarget } from '../platform/db/connection.js';
import { errorMessage } from '../platform/redact.js';
import type { Action, Finding, JobContext } from './job.js';
import { expiresAt, isTemporaryRestoreServer, restoredServerTarget } from './restore-servers.js';
import type { RestoredCopySettings } from './restore-servers-settings.js';

/**
 * What the jobs that restore temporary servers (backup-verification, version-upgrade's
 * rehearsal) do with Azure alike: find a server, follow a stored operation, sweep expired
 * copies, reach a copy.
 */
export interface RestoreServerScope {
  ctx: JobContext;
  azure: AzureServices;
  now: Date;
  findings: Finding[];
  actions: Action[];
  /** The configured server and its replica: never deleted, whatever their tags say. */
  protectedNames: string[];
}

/**
 * What a job that restores temporary servers declares: it needs the server's Azure settings and
 * outlasts an HTTP response. It is not destructive: it creates and deletes only its own tagged
 * servers (never the configured server or replica), so runs need no explicit dryRun:false.
 */
export const restoreServerJob = { requires: azureRequires('server'), destructive: false, long: true } as const;

export function protectedServerNames(azure: AzureServices): string[] {
  const { serverName, replicaName } = azure.postgres.coordinates;
  return [serverName, ...(replicaName ? [replicaName] : [])];
}

const isNotFound = (err: unknown) => err instanceof AzureOperationError && err.status === 404;

/** A request Azure refused (4xx) will not succeed later; anything else (408, 409, 429, 5xx, network) is retried. */
export const isRefused = (err: unknown): boolean =>
  err instanceof AzureOperationError && err.status !== undefined && err.status >= 400 && err.status < 500 && ![408, 409, 429].includes(err.status);

export async function findServer(t: Pick<RestoreServerScope, 'azure'>, name: string): Promise<Server | null> {
  try {
    return await t.azure.postgres.getServer(name);
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/**
 * One status check of a stored operation. An operation that ended in failure is a result
 * (resuming one may already report it); a request that failed is an error, retried next tick.
 */
export async function settle(t: Pick<RestoreServerScope, 'azure'>, serialized: string): Promise<'running' | 'succeeded' | { error: string }> {
  const ended = (err: unknown) => /long-running operation has failed|the operation failed in Azure/i.test(errorMessage(err));
  try {
    const op = await t.azure.postgres.resume(serialized);
    await op.poll();
    if (!op.isDone()) return 'running';
    await op.wait({ deadlineMs: 0 });
    return 'succeeded';
  } catch (err) {
    if (ended(err)) return { error: errorMessage(err) };
    throw err;
  }
}

/**
 * Deletes temporary servers past their expiry that no attempt in flight owns, and says so.
 * Restore tests and rehearsal copies carry the same tags, so either job sweeps both.
 */
export async function sweepOrphans(t: RestoreServerScope, active: { serverName: string } | null): Promise<void> {
  let servers: Server[];
  try {
    servers = await t.azure.postgres.listServers();
  } catch (err) {
    t.findings.push({ check: 'restore-test.sweep', severity: 'warning', target: t.azure.postgres.coordinates.resourceGroup, message: `could not list servers to find leftover restore servers: ${errorMessage(err)}` });
    return;
  }
  for (const server of servers) {
    const name = server.name ?? '';
    if (!isTemporaryRestoreServer(server, t.protectedNames) || name === active?.serverName) continue;
    if (expiresAt(server) > t.now || server.state === 'Dropping') continue;
    const description = `delete leftover restore server ${name} (expired ${expiresAt(server).toISOString()})`;
    const statement = `az postgres flexible-server delete --resource-group ${t.azure.postgres.coordinates.resourceGroup} --name ${name} --yes`;
    if (t.ctx.dryRun) {
      t.actions.push({ description, statement, status: 'planned' });
      continue;
    }
    const started = performance.now();
    try {
      await t.azure.postgres.beginDelete(name);
      t.actions.push({ description, statement, status: 'done', durationMs: Math.round(performance.now() - started) });
      t.findings.push({ check: 'restore-test.orphan', severity: 'warning', target: name, message: `leftover restore server ${name} (expired ${expiresAt(server).toISOString()}) found; deletion requested` });
    } catch (err) {
      t.actions.push({ description, statement, status: 'failed', error: errorMessage(err) });
      t.findings.push({ check: 'restore-test.orphan', severity: 'warning', target: name, message: `leftover restore server ${name} could not be deleted: ${errorMessage(err)}` });
    }
  }
}

/** How to reach a restored copy as the settings say: DATABASE_URL's user with the Key Vault password if one is named, the emulator's tags in tests. */
export async function restoredCopyTarget(
  t: Pick<RestoreServerScope, 'ctx' | 'azure'>,
  s: Pick<RestoredCopySettings, 'passwordSecret' | 'emulatorTags'>,
  server: Server,
): Promise<ConnectionTarget> {
  const password = s.passwordSecret ? (await t.azure.secrets.get(s.passwordSecret)).value : undefined;
  return restoredServerTarget(server, t.ctx.settings, { ...(password !== undefined ? { password } : {}), useEmulatorTags: s.emulatorTags });
}
