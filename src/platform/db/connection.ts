import type { TokenCredential } from '@azure/core-auth';
import type pg from 'pg';
import { z } from 'zod';
import { pgModule } from './pg.js';
import { parseServerUrl } from './server-url.js';
import { lazyDefaultCredential } from '../azure/credential.js';
import type { CoreSettings } from '../../shared/config.js';
import type { Logger } from '../log.js';
import { errorMessage, registerSecret } from '../redact.js';

export const ENTRA_POSTGRES_SCOPE = 'https://ossrdbms-aad.database.windows.net/.default';

/** Where to connect, resolved once from settings; carries no session options. */
export type ConnectionTarget =
  | { kind: 'url'; url: string }
  | { kind: 'entra'; host: string; port: number; database: string; user: string; ssl: boolean };

export interface SessionOptions {
  /** Names the job in pg_stat_activity and the server log. */
  applicationName: string;
  lockTimeoutMs: number;
  statementTimeoutMs: number;
  max?: number;
}

/** A pool's session options, how long a connection attempt may take, and who signs in with Entra. */
export interface PoolOptions extends SessionOptions {
  connectTimeoutSeconds?: number;
  /** The runtime's Azure credential, for DBOPS_PG_AUTH=entra; by default DefaultAzureCredential. */
  credential?: TokenCredential;
  /** Sign in as this login with its password instead of as the target says (a login test). */
  signIn?: { login: string; password: string };
}

export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
}

/** A connection that failed before any job work began; its message names the setting to check. */
export class ConnectionError extends Error {
  override name = 'ConnectionError';
}

const URL_FORM = 'postgres://USER@HOST:5432/DATABASE?sslmode=require (the password in the URL or in PGPASSWORD)';

const postgresUrl = z
  .string()
  .trim()
  .min(1, 'it is empty')
  .transform((value, ctx) => {
    try {
      return new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'it is not a URL' });
      return z.NEVER;
    }
  })
  .refine((url) => url.protocol === 'postgres:' || url.protocol === 'postgresql:', {
    message: 'it does not start with postgres:// or postgresql://',
  })
  // libpq takes a socket folder as ?host=… when the URL itself names no host.
  .refine((url) => url.hostname !== '' || url.searchParams.has('host'), { message: 'it names no host' });

/**
 * Checks the URL at the edge, so that a typo reads as such rather than as a failed host lookup.
 * The value itself is never echoed: it may hold a password.
 */
export function parseDatabaseUrl(url: string, source: string): string {
  const parsed = postgresUrl.safeParse(url);
  if (!parsed.success) {
    const why = parsed.error.issues.map((issue) => issue.message).join(', ');
    throw new ConfigurationError(`${source} is not a PostgreSQL URL (${why}): use ${URL_FORM}.`);
  }
  return url.trim();
}

export function resolveTarget(settings: CoreSettings, overrideUrl?: string): ConnectionTarget {
  const source = overrideUrl !== undefined ? '--database-url' : 'DATABASE_URL';
  const given = overrideUrl ?? settings.databaseUrl;
  if (given && settings.pgAuth === 'url') {
    const url = parseDatabaseUrl(given, source);
    registerUrlPassword(url);
    return { kind: 'url', url };
  }
  if (settings.pgAuth === 'entra') {
    if (!settings.pgHost || !settings.pgUser) {
      throw new ConfigurationError(
        'DBOPS_PG_AUTH=entra needs DBOPS_PG_HOST (the server host name) and DBOPS_PG_USER (the managed identity principal name).',
      );
    }
    return {
      kind: 'entra',
      host: settings.pgHost,
      port: settings.pgPort,
      database: settings.pgDatabase,
      user: settings.pgUser,
      ssl: settings.pgSsl === 'require',
    };
  }
  throw new ConfigurationError(
    'No database configured: set DATABASE_URL (or pass --database-url), or set DBOPS_PG_AUTH=entra with DBOPS_PG_HOST and DBOPS_PG_USER. `npm start` runs against an embedded PostgreSQL instead.',
  );
}

export function registerUrlPassword(url: string): void {
  try {
    const parsed = new URL(url);
    if (parsed.password) registerSecret(decodeURIComponent(parsed.password));
  } catch {
    // Not a URL: pg will say so when it connects.
  }
}

/** The settings to check when a target cannot be reached. */
export function connectionSettingsHint(target: ConnectionTarget): string {
  return target.kind === 'url'
    ? 'check DATABASE_URL (or --database-url) and that the server accepts connections from here'
    : 'check DBOPS_PG_HOST, DBOPS_PG_PORT, DBOPS_PG_USER and that the managed identity may sign in';
}

/** One line for a connection that failed: where, why, and what to check. */
export function cannotConnect(target: ConnectionTarget, err: unknown): string {
  return `Cannot connect to ${describeTarget(target)}: ${errorMessage(err)}; ${connectionSettingsHint(target)}.`;
}

/** Signs in once and disconnects, so that commands fail with one clear line before doing anything. */
export async function checkConnection(target: ConnectionTarget, connectTimeoutSeconds = 10): Promise<void> {
  const client = new (pgModule().Client)(
    poolConfig(target, { applicationName: 'dbops:connect-check', lockTimeoutMs: 1000, statementTimeoutMs: 5000, connectTimeoutSeconds }),
  );
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    throw new ConnectionError(cannotConnect(target, err));
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Host/database part of a target, safe to show. */
export function describeTarget(target: ConnectionTarget): string {
  if (target.kind === 'entra') return `${target.host}:${target.port}/${target.database}`;
  const u = parseServerUrl(target.url);
  return u ? `${u.address}${u.path}` : '(unparsable DATABASE_URL)';
}

/** A fresh Entra token for every new connection, so an expiring one is never reused. */
function entraPassword(credential: TokenCredential): () => Promise<string> {
  return async () => {
    const token = await credential.getToken(ENTRA_POSTGRES_SCOPE);
    if (!token) throw new Error('Microsoft Entra returned no token for Azure Database for PostgreSQL');
    registerSecret(token.token);
    return token.token;
  };
}

export function poolConfig(target: ConnectionTarget, options: PoolOptions): pg.PoolConfig {
  const common: pg.PoolConfig = {
    application_name: options.applicationName,
    lock_timeout: options.lockTimeoutMs,
    statement_timeout: options.statementTimeoutMs,
    connectionTimeoutMillis: (options.connectTimeoutSeconds ?? 30) * 1000,
    max: options.max ?? 4,
    idleTimeoutMillis: 10_000,
    // Jobs reason in UTC (partition bounds, billing days, schedules), whatever the server default.
    options: '-c TimeZone=UTC',
  };
  const signIn = options.signIn;
  if (target.kind === 'url') {
    if (!signIn) return { ...common, connectionString: target.url };
    // Keep the URL's host, port, database and TLS parameters; replace who signs in (pg lets the
    // URL's user and password win over separate fields, so they go into the URL).
    const u = new URL(target.url);
    u.username = encodeURIComponent(signIn.login);
    u.password = encodeURIComponent(signIn.password);
    return { ...common, connectionString: u.toString() };
  }
  return {
    ...common,
    host: target.host,
    port: target.port,
    database: target.database,
    user: signIn?.login ?? target.user,
    // Called for every new connection, so an expiring token is never reused.
    password: signIn?.password ?? entraPassword(options.credential ?? lazyDefaultCredential()),
    ssl: target.ssl ? { rejectUnauthorized: true } : false,
  };
}

/**
 * A pool whose errors never crash the process: an idle client losing its server emits
 * 'error' on the pool, which node-postgres rethrows when nobody listens.
 */
export function createPool(target: ConnectionTarget, options: PoolOptions, log: Logger): pg.Pool {
  const pool = new (pgModule().Pool)(poolConfig(target, options));
  pool.on('error', (err) => {
    // A session the pool is closing may still be open when the server stops right after (the
    // demo's embedded server): pool.end() resolves before every socket is closed. Not a loss.
    if (pool.ending) return;
    log.warn('database connection lost', { error: errorMessage(err), application: options.applicationName });
  });
  return pool;
}
