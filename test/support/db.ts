import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { readCoreSettings } from '../../src/shared/config.js';
import type { ConnectionTarget } from '../../src/platform/db/connection.js';
import type { EmbeddedPostgresMajor } from '../../src/platform/db/embedded.js';
import { migrate } from '../../src/platform/db/migrate.js';
import { ident } from '../../src/platform/db/sql.js';
import { memoryLogger, type Logger } from '../../src/platform/log.js';
import type { RunnerDeps } from '../../src/shared/runner/run-job.js';
import type { JobServices } from '../../src/shared/job.js';
import type { Env } from '../../src/platform/settings.js';

export interface TestDatabase {
  name: string;
  url: string;
  target: ConnectionTarget;
  /** A pool for the test's own setup and assertions (superuser). */
  pool: pg.Pool;
  drop(): Promise<void>;
}

export function adminUrl(): string {
  return inject('pgAdminUrl');
}

/** The run's PostgreSQL major: pass it to startEmbeddedPostgres for a server of a test's own. */
export function testPgMajor(): EmbeddedPostgresMajor {
  return inject('pgMajor');
}

export function urlFor(database: string, base = adminUrl()): string {
  const u = new URL(base);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Serialises cluster-wide steps (roles are shared by every database) across test workers. */
export async function withClusterLock<T>(fn: () => Promise<T>, server = adminUrl()): Promise<T> {
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  try {
    await admin.query('SELECT pg_advisory_lock(424242)');
    return await fn();
  } finally {
    await admin.query('SELECT pg_advisory_unlock(424242)').catch(() => undefined);
    await admin.end();
  }
}

/**
 * A fresh database for one test file, migrated unless `migrated: false`; on the shared test
 * server, or on `server` (the superuser URL of a file's own server, e.g. a replication pair's primary).
 */
export async function createTestDatabase(options: { prefix?: string; migrated?: boolean; server?: string } = {}): Promise<TestDatabase> {
  const name = `${options.prefix ?? 'dbops_test'}_${randomBytes(4).toString('hex')}`;
  const server = options.server ?? adminUrl();
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${ident(name)}`);
  await admin.end();
  const url = urlFor(name, server);
  const target: ConnectionTarget = { kind: 'url', url };
  if (options.migrated !== false) await withClusterLock(() => migrate(target, memoryLogger()), server);
  const pool = new pg.Pool({ connectionString: url, max: 8, options: '-c TimeZone=UTC' });
  pool.on('error', () => undefined);
  return {
    name,
    url,
    target,
    pool,
    async drop() {
      await pool.end();
      const c = new pg.Client({ connectionString: server });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Runner dependencies pointed at a test database, logging into memory. */
export function testDeps(db: TestDatabase, options: { env?: Env; services?: JobServices; now?: () => Date; log?: Logger } = {}): RunnerDeps & { log: Logger } {
  const env: Env = { DATABASE_URL: db.url, DBOPS_ENVIRONMENT: 'test', ...options.env };
  return {
    target: db.target,
    settings: readCoreSettings(env),
    env,
    log: options.log ?? memoryLogger(),
    services: options.services ?? {},
    ...(options.now ? { now: options.now } : {}),
    afterRun: [],
  };
}

/** PostgreSQL 14's statistics collector publishes with a delay of up to ~0.5 s. */
export const statsSettle = () => new Promise((r) => setTimeout(r, 700));
