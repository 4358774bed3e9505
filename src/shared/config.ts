import { z } from 'zod';
import { bool, int, optionalString, readSettings, setting, type Env, type SettingsOf } from '../platform/settings.js';

/** Settings every job shares: where the database is and how to sign in to it. */
export const coreSettings = {
  databaseUrl: setting({
    env: 'DATABASE_URL',
    doc: 'PostgreSQL connection URL (local runs, staging, CI). When unset in Azure, DBOPS_PG_HOST and Entra sign-in are used.',
    example: 'postgres://dbops@localhost:5432/product_change_db',
    secret: true,
    schema: optionalString(),
  }),
  pgHost: setting({
    env: 'DBOPS_PG_HOST',
    doc: 'Primary server host name, used with Entra sign-in when DATABASE_URL is unset.',
    example: 'phonebill-postgresql-prod.postgres.database.azure.com',
    schema: optionalString(),
  }),
  pgPort: setting({ env: 'DBOPS_PG_PORT', doc: 'Primary server port.', default: '5432', schema: int(1, 65535) }),
  pgDatabase: setting({
    env: 'DBOPS_PG_DATABASE',
    doc: 'Database name on the server.',
    default: 'product_change_db',
    plan: '1.1',
    schema: z.string().min(1),
  }),
  pgUser: setting({
    env: 'DBOPS_PG_USER',
    doc: "Database user; with Entra sign-in, the Function App's managed identity principal name.",
    example: 'func-dbops-prod',
    schema: optionalString(),
  }),
  pgAuth: setting({
    env: 'DBOPS_PG_AUTH',
    doc: 'How dbops signs in: "url" (credentials in DATABASE_URL) or "entra" (managed-identity token as the password, refreshed per connection).',
    default: 'url',
    schema: z.enum(['url', 'entra'], { message: 'expected "url" or "entra"' }),
  }),
  pgSsl: setting({
    env: 'DBOPS_PG_SSL',
    doc: 'TLS mode for DBOPS_PG_HOST connections: "require" (verify the certificate chain) or "disable" (local only).',
    default: 'require',
    plan: '2.3.2',
    schema: z.enum(['require', 'disable'], { message: 'expected "require" or "disable"' }),
  }),
  connectTimeoutSeconds: setting({
    env: 'DBOPS_PG_CONNECT_TIMEOUT_SECONDS',
    doc: 'Seconds to wait for a new database connection.',
    default: '30',
    plan: '2.3.2',
    schema: int(1, 600),
  }),
  lockTimeoutMs: setting({
    env: 'DBOPS_LOCK_TIMEOUT_MS',
    doc: 'lock_timeout for every session a job opens, so no job queues the service behind it for long.',
    default: '2000',
    schema: int(10, 600_000),
  }),
  statementTimeoutMs: setting({
    env: 'DBOPS_STATEMENT_TIMEOUT_MS',
    doc: 'statement_timeout for job sessions; a job may lower it for a single step.',
    default: '120000',
    schema: int(100, 86_400_000),
  }),
  replicaUrl: setting({
    env: 'DBOPS_REPLICA_URL',
    doc: 'Connection URL of the read replica, for replica-side lag checks (optional).',
    example: 'postgres://dbops@replica:5432/product_change_db',
    secret: true,
    schema: optionalString(),
  }),
  replicaHost: setting({
    env: 'DBOPS_REPLICA_HOST',
    doc: 'Read replica host name, used with Entra sign-in when DBOPS_REPLICA_URL is unset.',
    example: 'phonebill-postgresql-replica.postgres.database.azure.com',
    schema: optionalString(),
  }),
  environment: setting({
    env: 'DBOPS_ENVIRONMENT',
    doc: 'Name shown in reports and alerts (e.g. prod, staging, local).',
    default: 'local',
    schema: z.string().min(1),
  }),
  logJson: setting({
    env: 'DBOPS_LOG_JSON',
    doc: 'Write logs as JSON lines on stderr (true) or as readable text (false).',
    default: 'false',
    schema: bool(),
  }),
} as const;

export type CoreSettings = SettingsOf<typeof coreSettings>;

export function readCoreSettings(env: Env = process.env): CoreSettings {
  return readSettings(coreSettings, env);
}
