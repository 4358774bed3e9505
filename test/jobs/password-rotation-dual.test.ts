import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passwordRotation } from '../../src/jobs/password-rotation/index.js';
import { ident } from '../../src/platform/db/sql.js';
import { registerJob } from '../../src/shared/job.js';
import { runJob } from '../../src/shared/runner/run-job.js';
import { startAzureEmulator, type AzureEmulator } from '../../src/local-azure/index.js';
import { createTestDatabase, testDeps, type TestDatabase } from '../support/db.js';
import { currentCredential, dropRoles, logsIn, managedRole } from './password-rotation-support.js';

const job = registerJob(passwordRotation);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('password-rotation (dual-role mode)', () => {
  let db: TestDatabase;
  let emu: AzureEmulator;
  let role = '';
  beforeAll(async () => {
    db = await createTestDatabase();
    emu = await startAzureEmulator();
  });
  afterAll(async () => {
    if (role) await dropRoles(db, `${role}_blue`, `${role}_green`, role);
    await emu.close();
    await db.drop();
  });

  it('an application pool keeps working through 20 rotations under load, with zero failed queries', async () => {
    // The group role holds the grants and cannot log in; the two logins take turns.
    const m = await managedRole(db, emu, { login: false });
    role = m.role;
    await db.pool.query(`CREATE TABLE public.dual_probe (id serial PRIMARY KEY, at timestamptz DEFAULT now())`);
    await db.pool.query(`GRANT SELECT, INSERT ON public.dual_probe TO ${ident(role)}; GRANT USAGE ON SEQUENCE public.dual_probe_id_seq TO ${ident(role)}`);
    const env = { ...emu.env, ...m.env, DBOPS_ROTATION_DUAL_ROLE: 'true', DBOPS_ROTATION_GRACE_HOURS: '0' };
    const rotate = () => runJob(job, { role }, testDeps(db, { env, services: { azure: emu.services() } }), { trigger: 'test' });

    const first = await rotate();
    expect(first.status, first.summary).toBe('ok');
    expect(first.actions.filter((a) => a.statement?.startsWith('CREATE ROLE')).map((a) => a.statement)).toEqual([
      `CREATE ROLE "${role}_blue" LOGIN INHERIT IN ROLE "${role}" CONNECTION LIMIT -1`,
      `CREATE ROLE "${role}_green" LOGIN INHERIT IN ROLE "${role}" CONNECTION LIMIT -1`,
    ]);
    const c1 = currentCredential(emu, m.secret, role);
    expect(c1.login).toBe(`${role}_blue`);
    expect(c1.version.contentType).toBe('application/json');

    // The application: every new connection reads Key Vault's newest version (as a refreshed
    // Key Vault reference would) and connections are recycled often, so both old sessions and
    // new sign-ins are exercised throughout.
    const url = new URL(db.url);
    class KeyVaultClient extends pg.Client {
      constructor(config: pg.ClientConfig = {}) {
        const c = currentCredential(emu, m.secret, role);
        super({ ...config, host: url.hostname, port: Number(url.port), database: url.pathname.slice(1), user: c.login, password: c.password });
      }
    }
    const pool = new pg.Pool({ Client: KeyVaultClient, max: 4, maxUses: 3 });
    pool.on('error', () => undefined);
    let ok = 0;
    const failures: string[] = [];
    let running = true;
    const worker = async () => {
      while (running) {
        try {
          await pool.query('INSERT INTO public.dual_probe DEFAULT VALUES');
          await pool.query('SELECT count(*) FROM public.dual_probe');
          ok++;
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    const logins = new Set<string>();
    try {
      for (let i = 0; i < 20; i++) {
        const report = await rotate();
        expect(report.status, report.summary).toBe('ok');
        logins.add(currentCredential(emu, m.secret, role).login);
        // Readers pick up the new version between rotations (production spaces them by 90 days).
        await pause(50);
      }
    } finally {
      running = false;
      await Promise.all(workers);
      await pool.end();
    }
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(20);
    expect([...logins].sort()).toEqual([`${role}_blue`, `${role}_green`]);
    // The logins changed, the grants did not: the probe rows were written by both logins.
    const c = currentCredential(emu, m.secret, role);
    expect(await logsIn(db, c.login, c.password)).toBe(true);
    expect(await logsIn(db, role, m.initial)).toBe(false); // the group role cannot log in
    console.log(`dual-role: ${ok} successful query pairs during 20 rotations, ${failures.length} failures`);
  });

  it('refuses to change the idle login while its version is still within the grace period', async () => {
    const env = { ...emu.env, DBOPS_ROTATION_ROLES: `${role}=${`pc-app-${role.slice(7)}-password`}`, DBOPS_ROTATION_DUAL_ROLE: 'true', DBOPS_ROTATION_GRACE_HOURS: '48' };
    const deps = () => testDeps(db, { env, services: { azure: emu.services() } });
    const first = await runJob(job, { role }, deps(), { trigger: 'test' });
    expect(first.status, first.summary).toBe('ok');
    const second = await runJob(job, { role }, deps(), { trigger: 'test' });
    expect(second.status).toBe('warning');
    expect(second.findings).toContainEqual(expect.objectContaining({ check: 'rotation.idle-login-in-use', target: role }));
  });
});
