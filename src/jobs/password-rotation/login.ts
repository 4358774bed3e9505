import type pg from 'pg';
import { pgModule } from '../../shared/db/pg.js';
import type { ConnectionTarget } from '../../shared/db/connection.js';
import { errorMessage } from '../../shared/redact.js';
import type { Credential } from './vault.js';

/** Connection settings for signing in as `c` to the server and database the job uses. */
export function loginConfig(target: ConnectionTarget, c: Credential, connectTimeoutSeconds: number): pg.ClientConfig {
  const common = { user: c.login, password: c.password, connectionTimeoutMillis: connectTimeoutSeconds * 1000, application_name: 'dbops:password-rotation:login-test' };
  if (target.kind === 'entra') {
    return { ...common, host: target.host, port: target.port, database: target.database, ...(target.ssl ? { ssl: { rejectUnauthorized: true } } : {}) };
  }
  // Keep the URL's host, port, database and TLS parameters; replace who signs in (pg lets the
  // URL's user and password win over separate fields, so they go into the URL).
  const u = new URL(target.url);
  u.username = encodeURIComponent(c.login);
  u.password = encodeURIComponent(c.password);
  return { connectionTimeoutMillis: common.connectionTimeoutMillis, application_name: common.application_name, connectionString: u.toString() };
}

/** Opens a new session as `c` and runs a query. Returns null when it worked, else why not (redacted). */
export async function tryLogin(target: ConnectionTarget, c: Credential, connectTimeoutSeconds: number): Promise<string | null> {
  const client = new (pgModule().Client)(loginConfig(target, c, connectTimeoutSeconds));
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ who: string }>('SELECT current_user AS who');
    return rows[0]?.who === c.login ? null : `signed in as ${rows[0]?.who ?? '?'} instead of ${c.login}`;
  } catch (err) {
    return errorMessage(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}
