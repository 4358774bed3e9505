import { ident } from '../../platform/db/sql.js';
import type { Action, Finding, JobContext } from '../../shared/job.js';
import { errorMessage } from '../../platform/redact.js';
import { ROLE_BASELINE } from './baseline.js';
import type { FailedLoginBurst } from './log-checks.js';

export interface LockoutOptions {
  personalRoles: readonly string[];
  lockoutMinutes: number;
}

interface LockRow {
  id: string;
  role_name: string;
  lock_until: Date;
}

const applicationRoles = new Set(ROLE_BASELINE.map((r) => r.name));

/**
 * Lifts the lockouts this job applied whose period is over. Only rows in ops.security_lockout
 * are lifted, so a role someone disabled by hand is never given LOGIN back.
 */
export async function liftExpiredLockouts(ctx: JobContext): Promise<Action[]> {
  const now = ctx.now();
  const { rows } = await ctx.db.query<LockRow>(
    'SELECT id, role_name, lock_until FROM ops.security_lockout WHERE lifted_at IS NULL AND lock_until <= $1 ORDER BY id',
    [now],
  );
  const actions: Action[] = [];
  for (const lock of rows) {
    const statement = `ALTER ROLE ${ident(lock.role_name)} LOGIN`;
    const description = `lift the lockout of ${lock.role_name} (period ended ${lock.lock_until.toISOString()})`;
    if (ctx.dryRun) {
      actions.push({ description, statement, status: 'planned' });
      continue;
    }
    const t = performance.now();
    try {
      const note = await ctx.db.withTransaction(async (client) => {
        const { rows: state } = await client.query<{ rolcanlogin: boolean }>('SELECT rolcanlogin FROM pg_roles WHERE rolname = $1', [lock.role_name]);
        let text = 'lifted';
        if (state.length === 0) text = 'the role no longer exists';
        else if (state[0]?.rolcanlogin) text = 'LOGIN had already been restored by someone else';
        else await client.query(statement);
        await client.query('UPDATE ops.security_lockout SET lifted_at = $2, lifted_by_run = $3, lift_note = $4 WHERE id = $1', [lock.id, now, ctx.runId, text]);
        return text;
      });
      actions.push({ description, statement, status: note === 'lifted' ? 'done' : 'skipped', durationMs: Math.round(performance.now() - t), details: { note } });
    } catch (err) {
      actions.push({ description, statement, status: 'failed', error: errorMessage(err) });
    }
  }
  return actions;
}

export interface LockoutResult {
  actions: Action[];
  findings: Finding[];
  /** Per role: why it was or was not locked, for the failed-login finding. */
  decisions: Record<string, string>;
}

/**
 * Opt-in lockout for personal roles only: NOLOGIN for the lockout period, recorded so a later
 * run lifts it. Application roles are never locked: that would hand whoever guesses their
 * name a denial of service.
 */
export async function applyLockouts(ctx: JobContext, bursts: readonly FailedLoginBurst[], o: LockoutOptions): Promise<LockoutResult> {
  const out: LockoutResult = { actions: [], findings: [], decisions: {} };
  if (bursts.length === 0) return out;
  const personal = new Set(o.personalRoles);
  const now = ctx.now();
  const periodMs = o.lockoutMinutes * 60_000;
  const { rows: roles } = await ctx.db.query<{ rolname: string; rolcanlogin: boolean; rolsuper: boolean; me: boolean; locked: boolean }>(
    `SELECT r.rolname, r.rolcanlogin, r.rolsuper, r.rolname = current_user AS me,
            EXISTS (SELECT 1 FROM ops.security_lockout l WHERE l.role_name = r.rolname AND l.lifted_at IS NULL) AS locked
       FROM pg_roles r WHERE r.rolname = ANY($1)`,
    [bursts.map((b) => b.role)],
  );
  const byName = new Map(roles.map((r) => [r.rolname, r]));
  for (const burst of bursts) {
    const role = byName.get(burst.role);
    const decide = (text: string) => (out.decisions[burst.role] = text);
    if (applicationRoles.has(burst.role)) {
      decide('not locked: application roles are never locked (a lockout would deny the service)');
      if (personal.has(burst.role)) {
        out.findings.push({
          check: 'lockout.misconfigured',
          severity: 'warning',
          target: burst.role,
          message: `${burst.role} is listed in DBOPS_SECURITY_PERSONAL_ROLES but is an application role; it is never locked`,
          remedy: `remove ${burst.role} from DBOPS_SECURITY_PERSONAL_ROLES`,
        });
      }
      continue;
    }
    if (!personal.has(burst.role)) {
      decide('not locked: not a personal role (DBOPS_SECURITY_PERSONAL_ROLES)');
      continue;
    }
    if (!role) {
      decide('not locked: no such role');
      continue;
    }
    if (role.me || role.rolsuper) {
      decide(`not locked: ${role.me ? "it is dbops's own login" : 'superusers are not locked by dbops'}`);
      continue;
    }
    if (role.locked) {
      decide('already locked by an earlier run');
      continue;
    }
    if (!role.rolcanlogin) {
      decide('not locked: the role already cannot log in');
      continue;
    }
    if (burst.last.getTime() + periodMs <= now.getTime()) {
      decide(`not locked: the last failure was more than ${o.lockoutMinutes} minutes ago`);
      continue;
    }
    const until = new Date(now.getTime() + periodMs);
    const statement = `ALTER ROLE ${ident(burst.role)} NOLOGIN`;
    const description = `lock out ${burst.role} until ${until.toISOString()} after ${burst.failures} failed logins`;
    if (ctx.dryRun) {
      decide(`would be locked until ${until.toISOString()} (dry run)`);
      out.actions.push({ description, statement, status: 'planned' });
      continue;
    }
    const t = performance.now();
    try {
      await ctx.db.withTransaction(async (client) => {
        await client.query(
          `INSERT INTO ops.security_lockout (role_name, failures, client_addresses, reason, locked_at, lock_until, locked_by_run)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [burst.role, burst.failures, burst.clients, `${burst.failures} failed logins between ${burst.first.toISOString()} and ${burst.last.toISOString()}`, now, until, ctx.runId],
        );
        await client.query(statement);
      });
      decide(`locked until ${until.toISOString()}`);
      out.actions.push({ description, statement, status: 'done', durationMs: Math.round(performance.now() - t) });
      out.findings.push({
        check: 'login.locked',
        severity: 'warning',
        target: burst.role,
        message: `${burst.role} locked (NOLOGIN) until ${until.toISOString()} after ${burst.failures} failed logins from ${burst.clients.join(', ')}; the first run after that lifts it`,
        value: burst.failures,
        remedy: `To lift it now: ${`ALTER ROLE ${ident(burst.role)} LOGIN`} (the next run then records it as lifted by someone else)`,
      });
    } catch (err) {
      decide(`lock failed: ${errorMessage(err)}`);
      out.actions.push({ description, statement, status: 'failed', error: errorMessage(err) });
    }
  }
  return out;
}
