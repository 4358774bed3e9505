import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { passwordRotation, ROTATION_HOOKS_SERVICE, type RotationHooks } from '../../src/jobs/password-rotation/index.js';
import { registerJob } from '../../src/shared/job.js';
import { runJob } from '../../src/shared/runner/run-job.js';
import { useAzureTestbed } from '../support/testbed.js';
import { testDeps } from '../support/db.js';
import { currentCredential, currentLogsIn, dropRoles, managedRole, someStoredVersionLogsIn } from './password-rotation-support.js';

const job = registerJob(passwordRotation);
type Step = 'stage' | 'set' | 'test' | 'finish';

class SimulatedCrash extends Error {}

/**
 * A fault injected at each step in turn. Afterwards Key Vault's newest version signs in (except
 * right after a crash between stage and set in single-role mode, the one window a stopped
 * process cannot close: the previous, still enabled version signs in then), some stored version
 * always does, and the next run converges.
 */
describe.each(['single', 'dual'] as const)('password-rotation faults (%s-role mode)', (mode) => {
  const roles: string[] = [];
  const bed = useAzureTestbed({ beforeDrop: (d) => dropRoles(d, ...roles.flatMap((r) => [`${r}_blue`, `${r}_green`, r])) });

  const setup = async () => {
    const m = await managedRole(bed.db, bed.emu);
    roles.push(m.role);
    const env = { ...bed.emu.env, ...m.env, DBOPS_ROTATION_DUAL_ROLE: String(mode === 'dual'), DBOPS_ROTATION_GRACE_HOURS: '0', DBOPS_LOCK_TIMEOUT_MS: '300' };
    const run = (hooks?: RotationHooks) =>
      runJob(job, { role: m.role }, testDeps(bed.db, { env, services: { azure: bed.emu.services(), ...(hooks ? { [ROTATION_HOOKS_SERVICE]: hooks } : {}) } }), { trigger: 'test' });
    const timer = () => runJob(job, {}, testDeps(bed.db, { env, services: { azure: bed.emu.services() } }), { trigger: 'test' });
    if (mode === 'dual') {
      // A first rotation moves the role onto its blue/green logins.
      const first = await run();
      expect(first.status, first.summary).toBe('ok');
    }
    return { ...m, run, timer };
  };

  const converged = async (m: Awaited<ReturnType<typeof setup>>) => {
    expect(await currentLogsIn(bed.db, bed.emu, m.secret, m.role)).toBe(true);
    const latest = currentCredential(bed.emu, m.secret, m.role).version;
    expect(['current', 'restored']).toContain(latest.tags?.['dbops-state']);
    expect(bed.emu.keyVault.secrets.get(m.secret)!.filter((v) => v.enabled && v.tags?.['dbops-state'] === 'pending')).toEqual([]);
    const { rows } = await bed.db.pool.query(`SELECT step FROM ops.password_rotation WHERE secret_name = $1 AND step NOT IN ('finished', 'rolled-back', 'discarded')`, [m.secret]);
    expect(rows).toEqual([]);
  };

  const steps: Step[] = ['stage', 'set', 'test', 'finish'];

  it.each(steps)('process dies after %s: the next run finishes or discards the rotation', async (step) => {
    const m = await setup();
    const report = await m.run({
      afterStep: (s) => {
        if (s === step) throw new SimulatedCrash(`process stopped after ${s}`);
      },
    });
    expect(report.status).toBe('critical');
    expect(await someStoredVersionLogsIn(bed.db, bed.emu, m.secret, m.role)).toBe(true);
    const windowOpen = mode === 'single' && step === 'stage';
    expect(await currentLogsIn(bed.db, bed.emu, m.secret, m.role)).toBe(!windowOpen);
    const next = await m.timer();
    expect(['ok', 'warning']).toContain(next.status);
    await converged(m);
  });

  it.each(steps)('%s fails: the run itself rolls forward or back, and the next run converges', async (step) => {
    const m = await setup();
    const before = currentCredential(bed.emu, m.secret, m.role).version.version;
    const report = await m.run({
      beforeStep: (s) => {
        if (s === step) throw new Error(`injected failure at ${s}`);
      },
    });
    expect(report.findings).toContainEqual(expect.objectContaining({ check: 'rotation.failed', severity: 'warning', target: m.role }));
    expect(await currentLogsIn(bed.db, bed.emu, m.secret, m.role)).toBe(true);
    if (step === 'stage' || (mode === 'dual' && (step === 'set' || step === 'test'))) {
      // Nothing reached Key Vault.
      expect(currentCredential(bed.emu, m.secret, m.role).version.version).toBe(before);
    }
    await m.timer();
    await converged(m);
  });

  it('Key Vault down while staging or finishing: the newest version still signs in', async () => {
    const m = await setup();
    let fault = bed.emu.inject({ operation: 'secrets.set', kind: 'error', status: 503, times: Infinity });
    const down = await m.run();
    expect(down.findings).toContainEqual(expect.objectContaining({ check: 'rotation.failed' }));
    expect(await currentLogsIn(bed.db, bed.emu, m.secret, m.role)).toBe(true);
    fault.remove();

    fault = bed.emu.inject({ operation: 'secrets.update', kind: 'error', status: 503, times: Infinity });
    const finishing = await m.run();
    expect(finishing.findings).toContainEqual(expect.objectContaining({ check: 'rotation.failed', message: expect.stringMatching(/the next run finishes it/) }));
    expect(await currentLogsIn(bed.db, bed.emu, m.secret, m.role)).toBe(true);
    fault.remove();
    await m.timer();
    await converged(m);
  });

  it('ALTER ROLE blocked by a lock until lock_timeout: rolled back, the old password still works', async () => {
    const m = await setup();
    const { login } = currentCredential(bed.emu, m.secret, m.role);
    const idle = mode === 'single' ? m.role : login.endsWith('_blue') ? `${m.role}_green` : `${m.role}_blue`;
    const holder = new pg.Client({ connectionString: bed.db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM pg_authid WHERE rolname = $1 FOR UPDATE', [idle]);
      const report = await m.run();
      expect(report.findings).toContainEqual(expect.objectContaining({ check: 'rotation.failed', message: expect.stringMatching(/(failed|stopped) at set \(canceling statement due to lock timeout/) }));
      expect(await currentLogsIn(bed.db, bed.emu, m.secret, m.role)).toBe(true);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    }
    await m.timer();
    await converged(m);
  });
});
