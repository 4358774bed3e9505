import type { TokenCredential } from '@azure/core-auth';
import type pg from 'pg';
import type { CoreSettings } from '../../shared/config.js';
import type { Logger } from '../log.js';
import { registerSecret } from '../redact.js';
import { createPool, registerUrlPassword, type ConnectionTarget } from './connection.js';

/** How a job connects to a server other than its own database (a replica, a restored copy, a probed primary, a login test). */
export interface ServerSessionOptions {
  /** What the connection is for: the sessions are named `dbops:<job>:<purpose>` in pg_stat_activity. */
  purpose: string;
  /** Sign in as this login with its password instead of as the target says (the login test). */
  signIn?: { login: string; password: string };
  /** Overrides of the job's own session bounds (lock_timeout, statement_timeout, connect timeout). */
  timeouts?: { lockTimeoutMs?: number; statementTimeoutMs?: number; connectTimeoutSeconds?: number };
  /** Connections in the pool; 1 unless the use runs statements side by side. */
  max?: number;
}

/** Opens a pool to `target` with the job's session settings, hands it to `use`, and closes it whatever happens. */
export type WithServer = <T>(target: ConnectionTarget, options: ServerSessionOptions, use: (pool: pg.Pool) => Promise<T>) => Promise<T>;

export interface ServerSessionDeps {
  job: string;
  settings: Pick<CoreSettings, 'lockTimeoutMs' | 'statementTimeoutMs' | 'connectTimeoutSeconds'>;
  log: Logger;
  /** The runtime's Azure credential, for Entra sign-in. */
  credential?: TokenCredential;
}

/** The context's `withServer`: every connection a job opens besides `ctx.db` goes through it. */
export function serverSessions(deps: ServerSessionDeps): WithServer {
  return async (target, options, use) => {
    if (target.kind === 'url') registerUrlPassword(target.url);
    if (options.signIn) registerSecret(options.signIn.password);
    const applicationName = `dbops:${deps.job}:${options.purpose}`;
    const t = options.timeouts ?? {};
    const pool = createPool(
      target,
      {
        applicationName,
        lockTimeoutMs: t.lockTimeoutMs ?? deps.settings.lockTimeoutMs,
        statementTimeoutMs: t.statementTimeoutMs ?? deps.settings.statementTimeoutMs,
        connectTimeoutSeconds: t.connectTimeoutSeconds ?? deps.settings.connectTimeoutSeconds,
        max: options.max ?? 1,
        ...(options.signIn ? { signIn: options.signIn } : {}),
        ...(deps.credential ? { credential: deps.credential } : {}),
      },
      deps.log,
    );
    try {
      return await use(pool);
    } finally {
      await pool.end().catch(() => undefined);
    }
  };
}
