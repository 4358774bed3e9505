import pg from 'pg';
import { migrate } from '../platform/db/migrate.js';
import { ident, qualified } from '../platform/db/sql.js';
import { memoryLogger } from '../platform/log.js';
import { PLAN_SCHEMA, PLAN_TABLES } from '../shared/plan.js';
import type { EmbeddedServer } from '../platform/db/embedded.js';
import { EMULATOR_DATABASE_TAG, EMULATOR_PORT_TAG, withClient } from './restore.js';
import type { UpgradeHooks, UpgradeResult } from './upgrade.js';

/**
 * An upgrade that really moves the copy to a server of the target major: the copy's database
 * (on the test server, see realDatabaseRestores) is rebuilt on `target` (an embedded PostgreSQL
 * of the new major) by dbops's own migrations, with the plan tables' partitions and rows copied
 * across; the upgraded server then points at it (its port tag). What pg_upgrade does, for the
 * plan's schema: so install-verification, the health check and the restore verification run on
 * the new major for real. `sourceAdminUrl`'s user and password are given to the target's
 * superuser, so the job reaches the copy with DATABASE_URL's sign-in, as on Azure.
 */
export async function upgradeOnRealServer(options: { sourceAdminUrl: string; target: EmbeddedServer }): Promise<Required<Pick<UpgradeHooks, 'onUpgrade'>> & { onDelete(database: string): Promise<void> }> {
  const source = new URL(options.sourceAdminUrl);
  const user = decodeURIComponent(source.username);
  const password = decodeURIComponent(source.password);
  await withClient(options.target.url(), async (c) => {
    const exists = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [user]);
    await c.query(`${exists.rowCount ? 'ALTER' : 'CREATE'} ROLE ${ident(user)} WITH SUPERUSER LOGIN PASSWORD ${pg.escapeLiteral(password)}`);
  });
  // From here on the target's superuser signs in with the source's password.
  const admin = (database = 'postgres') => {
    const u = new URL(options.target.url(database));
    u.username = source.username;
    u.password = source.password;
    return u.toString();
  };
  return {
    async onUpgrade({ server }): Promise<UpgradeResult> {
      const database = server.tags?.[EMULATOR_DATABASE_TAG];
      if (!database) throw new Error(`server ${server.name} has no copy to upgrade`);
      const fromUrl = new URL(options.sourceAdminUrl);
      fromUrl.pathname = `/${database}`;
      await withClient(admin(), (c) => c.query(`CREATE DATABASE ${ident(database)}`));
      const toUrl = admin(database);
      await migrate({ kind: 'url', url: toUrl }, memoryLogger());
      await withClient(fromUrl.toString(), (from) =>
        withClient(toUrl, async (to) => {
          const parts = await from.query<{ name: string; parent: string; bound: string }>(
            `SELECT c.relname AS name, p.relname AS parent, pg_get_expr(c.relpartbound, c.oid) AS bound
               FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
               JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')`,
            [PLAN_SCHEMA],
          );
          for (const part of parts.rows) {
            await to.query(`CREATE TABLE IF NOT EXISTS ${qualified(PLAN_SCHEMA, part.name)} PARTITION OF ${qualified(PLAN_SCHEMA, part.parent)} ${part.bound}`);
          }
          for (const table of Object.values(PLAN_TABLES)) {
            const t = qualified(PLAN_SCHEMA, table);
            const { rows } = await from.query<{ data: unknown }>(`SELECT coalesce(json_agg(x), '[]') AS data FROM ${t} x`);
            await to.query(`TRUNCATE ${t}`);
            await to.query(`INSERT INTO ${t} OVERRIDING SYSTEM VALUE SELECT * FROM json_populate_recordset(CAST(NULL AS ${t}), $1::json)`, [JSON.stringify(rows[0]?.data ?? [])]);
          }
          await to.query('ANALYZE');
        }),
      );
      const version = await withClient(toUrl, (c) => c.query<{ v: string }>(`SELECT current_setting('server_version') AS v`));
      return { minorVersion: (version.rows[0]?.v ?? '').split('.')[1] ?? '0', tags: { [EMULATOR_PORT_TAG]: String(options.target.port) } };
    },
    async onDelete(database) {
      await withClient(admin(), (c) => c.query(`DROP DATABASE IF EXISTS ${ident(database)} WITH (FORCE)`));
    },
  };
}
