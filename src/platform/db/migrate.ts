import { runner } from 'node-pg-migrate';
import type { Logger } from '../log.js';
import { migrationsDir } from '../../shared/paths.js';
import { poolConfig, type ConnectionTarget } from './connection.js';

export interface MigrateResult {
  applied: string[];
}

/**
 * Applies db/migrations (SQL files, in name order) with node-pg-migrate, which takes its own
 * advisory lock so two installers never interleave. Re-running applies nothing.
 */
export async function migrate(target: ConnectionTarget, log: Logger, options: { dryRun?: boolean } = {}): Promise<MigrateResult> {
  const { connectionString, host, port, database, user, password, ssl } = poolConfig(target, {
    applicationName: 'dbops:migrate',
    lockTimeoutMs: 10_000,
    statementTimeoutMs: 600_000,
  });
  const clientConfig = connectionString ? { connectionString } : { host, port, database, user, password, ssl };
  const ran = await runner({
    databaseUrl: { ...clientConfig, application_name: 'dbops:migrate' },
    dir: migrationsDir,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    migrationsSchema: 'ops',
    createMigrationsSchema: true,
    checkOrder: true,
    dryRun: options.dryRun ?? false,
    logger: {
      debug: (m: string) => log.debug(m),
      info: (m: string) => log.debug(m),
      warn: (m: string) => log.warn(m),
      error: (m: string) => log.error(m),
    },
  });
  const applied = ran.map((m) => m.name);
  if (applied.length > 0) log.info(`applied ${applied.length} migration(s)`, { applied });
  return { applied };
}
