import type { ConnectionTarget } from '../../platform/db/connection.js';
import type { WithServer } from '../../platform/db/session.js';
import { errorMessage } from '../../platform/redact.js';
import type { Credential } from './vault.js';

/**
 * Opens a new session as `c` on the server and database the job uses, and runs a query.
 * Returns null when it worked, else why not (redacted).
 */
export async function tryLogin(withServer: WithServer, target: ConnectionTarget, c: Credential): Promise<string | null> {
  try {
    const who = await withServer(target, { purpose: 'login-test', signIn: { login: c.login, password: c.password } }, async (pool) => {
      const { rows } = await pool.query<{ who: string }>('SELECT current_user AS who');
      return rows[0]?.who;
    });
    return who === c.login ? null : `signed in as ${who ?? '?'} instead of ${c.login}`;
  } catch (err) {
    return errorMessage(err);
  }
}
