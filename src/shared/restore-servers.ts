import type { Server } from '../platform/azure/index.js';
import { ConfigurationError, registerUrlPassword, type ConnectionTarget } from '../platform/db/connection.js';
import type { CoreSettings } from './config.js';

/**
 * How dbops marks the temporary servers it restores (backup-verification's weekly restore
 * tests, version-upgrade's rehearsal copies), so the cost check finds their cost and the orphan
 * sweep finds the servers: all read these, none guesses.
 */
export const RESTORE_TAGS = {
  purpose: 'purpose',
  createdBy: 'created-by',
  expiresAt: 'expires-at',
  source: 'source-server',
  attempt: 'restore-test-attempt',
} as const;
export const RESTORE_PURPOSE = 'dbops-restore-test';
export const RESTORE_CREATED_BY = 'dbops backup-verification';

/** The orphan sweep leaves a server this long past its owner's deadline (its expires-at tag), so the owner deletes it itself first. */
export const RESTORE_EXPIRY_MARGIN_MS = 3_600_000;

/** Test-only: the emulator's restored copies name their real database and port in these tags. */
export const EMULATOR_DATABASE_TAG = 'emulator-database';
export const EMULATOR_PORT_TAG = 'emulator-port';

/** Name prefix of a source server's restore-test servers: `<source>-rt-<yyyymmddhhmm>-<attempt>`. */
export function restoreServerPrefix(source: string): string {
  return `${source.toLowerCase().replace(/[^a-z0-9-]/g, '-')}-rt-`;
}

const stamp = (d: Date) => d.toISOString().replace(/[-:T]/g, '').slice(0, 12); // yyyymmddhhmm

/**
 * `<source>-rt-<yyyymmddhhmm>-<attempt>`: what it is (a restore test of the source), when it
 * started, and which attempt owns it (version-upgrade's rehearsals use `u<id>`). Flexible server names are 3-63 lower-case letters,
 * digits and hyphens.
 */
export function temporaryServerName(source: string, startedAt: Date, attempt: number | string): string {
  const suffix = `${stamp(startedAt)}-${attempt}`;
  const prefix = restoreServerPrefix(source);
  const base = prefix.slice(0, -'-rt-'.length).slice(0, 63 - suffix.length - '-rt-'.length).replace(/-+$/, '');
  return `${base}-rt-${suffix}`;
}

export function restoreTags(input: { source: string; attempt: number | string; expiresAt: Date }): Record<string, string> {
  return {
    [RESTORE_TAGS.purpose]: RESTORE_PURPOSE,
    [RESTORE_TAGS.createdBy]: RESTORE_CREATED_BY,
    [RESTORE_TAGS.expiresAt]: input.expiresAt.toISOString(),
    [RESTORE_TAGS.source]: input.source,
    [RESTORE_TAGS.attempt]: String(input.attempt),
  };
}

/**
 * True only for a server dbops created: both ownership tags, and never the production
 * server or its replica whatever their tags say. Every delete is guarded by it.
 */
export function isTemporaryRestoreServer(server: Pick<Server, 'name' | 'tags'>, protectedNames: readonly string[]): boolean {
  const name = (server.name ?? '').toLowerCase();
  if (!name || protectedNames.some((p) => p.toLowerCase() === name)) return false;
  return server.tags?.[RESTORE_TAGS.purpose] === RESTORE_PURPOSE && server.tags?.[RESTORE_TAGS.createdBy] === RESTORE_CREATED_BY;
}

/** When a tagged server may be deleted by the sweep; unreadable dates count as expired. */
export function expiresAt(server: Pick<Server, 'tags'>): Date {
  const d = new Date(server.tags?.[RESTORE_TAGS.expiresAt] ?? '');
  return Number.isNaN(d.getTime()) ? new Date(0) : d;
}

/**
 * How dbops connects to a restored server. A restored server is a copy of the source's
 * cluster, so the same sign-in works: with DBOPS_PG_AUTH=entra the managed identity's token
 * (the Entra principal is in the copy), otherwise DATABASE_URL's user with its password, or
 * with `password` (from Key Vault) when given. Only host (and, for the emulator, port and
 * database) change. The restored server keeps private access in the source's virtual network,
 * so this only works from inside it (the Function App's VNet integration).
 */
export function restoredServerTarget(
  server: Pick<Server, 'name' | 'fullyQualifiedDomainName' | 'tags'>,
  settings: CoreSettings,
  options: { password?: string; useEmulatorTags?: boolean } = {},
): ConnectionTarget {
  const host = server.fullyQualifiedDomainName;
  if (!host) throw new ConfigurationError(`restored server ${server.name ?? '?'} has no host name yet`);
  let port = 5432;
  let database = settings.pgDatabase;
  if (options.useEmulatorTags) {
    port = Number(server.tags?.[EMULATOR_PORT_TAG] ?? port);
    database = server.tags?.[EMULATOR_DATABASE_TAG] ?? database;
  }
  if (settings.pgAuth === 'entra') {
    if (!settings.pgUser) throw new ConfigurationError('DBOPS_PG_AUTH=entra needs DBOPS_PG_USER (the managed identity principal name).');
    return { kind: 'entra', host, port, database, user: settings.pgUser, ssl: settings.pgSsl === 'require' };
  }
  if (!settings.databaseUrl) {
    throw new ConfigurationError('Connecting to the restored server needs DATABASE_URL (its user and password work on the copy) or DBOPS_PG_AUTH=entra.');
  }
  const url = new URL(settings.databaseUrl);
  url.hostname = host;
  url.port = String(port);
  url.pathname = `/${database}`;
  if (options.password !== undefined) url.password = encodeURIComponent(options.password);
  registerUrlPassword(url.toString());
  return { kind: 'url', url: url.toString() };
}
