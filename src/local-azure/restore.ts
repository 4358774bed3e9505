import pg from 'pg';
import { ident } from '../platform/db/sql.js';
import { EMULATOR_DATABASE_TAG, EMULATOR_PORT_TAG } from '../shared/restore-servers.js';
import type { PostgresHooks, RestoreResult } from './postgres.js';

/** Tag keys a restored server carries in the emulator, pointing at its real copy (dbops reads them with DBOPS_BACKUP_TEST_EMULATOR_TAGS). */
export { EMULATOR_DATABASE_TAG, EMULATOR_PORT_TAG };

/** One client on `url` for `fn`, closed after it. */
export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Copies `source` into a new database to serve as a backup snapshot. CREATE DATABASE ... TEMPLATE
 * needs the source to have no other sessions, so this ends them: call it in a test's setup,
 * before the job under test opens its own sessions.
 */
export async function snapshotDatabase(adminUrl: string, source: string, snapshot = `${source}_backup`): Promise<string> {
  await withClient(adminUrl, async (c) => {
    for (let attempt = 1; ; attempt++) {
      await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [source]);
      try {
        await c.query(`CREATE DATABASE ${ident(snapshot)} TEMPLATE ${ident(source)}`);
        return;
      } catch (err) {
        if (attempt >= 5 || !/being accessed by other users/.test((err as Error).message)) throw err;
      }
    }
  });
  return snapshot;
}

/**
 * Restore hooks backed by the embedded PostgreSQL: a point-in-time restore creates a database
 * from `snapshot` (see snapshotDatabase) named after the new server, and the restored server's
 * FQDN is the embedded server's host, its tags name the database and port. Deleting the server
 * drops the database.
 */
export function realDatabaseRestores(options: {
  adminUrl: string;
  snapshot: string;
  /**
   * Runs on each new copy before the restore completes, connected to it as the admin: a test
   * makes the copy imperfect here (delete rows, drop an index) to prove verification notices.
   */
  afterCopy?: (copy: pg.Client, database: string) => Promise<void>;
}): PostgresHooks & { databases: string[] } {
  const url = new URL(options.adminUrl);
  const databases: string[] = [];
  const dbName = (server: string) => `restored_${server.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}`.slice(0, 63);
  return {
    databases,
    async onRestore({ targetServerName }): Promise<RestoreResult> {
      const database = dbName(targetServerName);
      await withClient(options.adminUrl, (c) => c.query(`CREATE DATABASE ${ident(database)} TEMPLATE ${ident(options.snapshot)}`));
      databases.push(database);
      if (options.afterCopy) {
        const copyUrl = new URL(options.adminUrl);
        copyUrl.pathname = `/${database}`;
        await withClient(copyUrl.toString(), (c) => options.afterCopy!(c, database));
      }
      return { fullyQualifiedDomainName: url.hostname, tags: { [EMULATOR_DATABASE_TAG]: database, [EMULATOR_PORT_TAG]: url.port || '5432' } };
    },
    async onDelete(server) {
      const database = server.tags?.[EMULATOR_DATABASE_TAG];
      if (database) await withClient(options.adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${ident(database)} WITH (FORCE)`));
    },
  };
}
