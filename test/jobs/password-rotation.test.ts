import { describe, expect, it } from 'vitest';
import { keyVaultSecretInventory } from '../../src/jobs/password-rotation/inventory.js';
import { passwordRotation } from '../../src/jobs/password-rotation/index.js';
import { generatePassword, matchesFingerprint, newPassword, passwordFingerprint, policyProblems } from '../../src/jobs/password-rotation/policy.js';
import { isScramVerifier, scramVerifier } from '../../src/jobs/password-rotation/scram.js';
import { handleSignals } from '../../src/events/handle.js';
import { registerJob } from '../../src/shared/job.js';
import { runJob } from '../../src/shared/runner/run-job.js';
import { useAzureTestbed } from '../support/testbed.js';
import { testDeps } from '../support/db.js';
import { allStoredValues, currentCredential, dropRoles, logsIn, managedRole } from './password-rotation-support.js';

const job = registerJob(passwordRotation);

describe('SCRAM-SHA-256 verifier', () => {
  it("matches PostgreSQL's regression-suite test vector", () => {
    expect(scramVerifier('', Buffer.from('hpFyHTUsSWcR7O9P', 'base64'))).toBe(
      'SCRAM-SHA-256$4096:hpFyHTUsSWcR7O9P$LgZFIt6Oqdo27ZFKbZ2nV+vtnYM995pDh9ca6WSi120=:qVV5NeluNfUPkwm7Vqat25RjSPLkGeoZBQs6wVv+um4=',
    );
  });

  it('is 133 characters with a random salt, and anything else is refused as a verifier', () => {
    const a = scramVerifier('Some-Password-1');
    expect(a).toHaveLength(133);
    expect(isScramVerifier(a)).toBe(true);
    expect(scramVerifier('Some-Password-1')).not.toBe(a);
    for (const bad of ['', 'md5abc', a.slice(0, -1), a.replace('4096', '4097'), `${a}x`, a.replace('SCRAM', 'scram')]) expect(isScramVerifier(bad)).toBe(false);
    expect(() => scramVerifier('pässwort')).toThrow(/printable ASCII/);
  });
});

describe('password policy (plan 4.3.2)', () => {
  it('generates the configured length with every character class', () => {
    for (const minLength of [12, 24, 40]) {
      for (let i = 0; i < 50; i++) {
        const p = generatePassword({ minLength });
        expect(p).toHaveLength(minLength);
        expect(policyProblems(p, { minLength })).toEqual([]);
      }
    }
  });

  it('names what is wrong with a password', () => {
    expect(policyProblems('short', { minLength: 12 })).toEqual([
      'shorter than 12 characters',
      'has no an upper-case letter',
      'has no a digit',
      'has no a special character',
    ]);
    expect(policyProblems('abcdefghijkL1!', { minLength: 12 })).toEqual([]);
  });

  it('never reuses one of the earlier passwords, by value or by fingerprint', () => {
    const old = ['Aa1-aaaaaaaaaaaa', 'Bb2-bbbbbbbbbbbb'];
    const fp = passwordFingerprint('Cc3-cccccccccccc');
    expect(matchesFingerprint('Cc3-cccccccccccc', fp)).toBe(true);
    expect(matchesFingerprint('Cc3-ccccccccccccX', fp)).toBe(false);
    const offered = [old[0]!, 'Cc3-cccccccccccc', old[1]!, 'Dd4-dddddddddddd'];
    const picked = newPassword({ minLength: 16 }, { values: old, fingerprints: [fp] }, () => offered.shift()!);
    expect(picked).toBe('Dd4-dddddddddddd');
  });
});

describe('password-rotation (single-role mode)', () => {
  const roles: string[] = [];
  const bed = useAzureTestbed({ beforeDrop: (d) => dropRoles(d, ...roles) });

  const deps = (env: Record<string, string>) => testDeps(bed.db, { env: { ...bed.emu.env, ...env }, services: { azure: bed.emu.services() } });

  it('rotates: the new password signs in, the old one no longer does, and no password reaches the report or log', async () => {
    const m = await managedRole(bed.db, bed.emu);
    roles.push(m.role);
    const before = bed.emu.keyVault.latest(m.secret)!.version;
    const d = deps(m.env);
    const report = await runJob(job, { role: m.role }, d, { trigger: 'test' });
    expect(report.status, report.summary).toBe('ok');
    const c = currentCredential(bed.emu, m.secret, m.role);
    expect(c.version.version).not.toBe(before);
    expect(c.version.tags).toMatchObject({ 'dbops-state': 'current', 'dbops-role': m.role, 'dbops-login': m.role, 'dbops-server': 'pg-dbops-test' });
    expect(c.version.contentType).toBe('text/plain');
    const days = (c.version.exp! - Date.now() / 1000) / 86400;
    expect(days).toBeGreaterThan(89.9);
    expect(days).toBeLessThan(90.1);
    expect(c.password).toHaveLength(24);
    expect(policyProblems(c.password, { minLength: 24 })).toEqual([]);
    expect(await logsIn(bed.db, m.role, c.password)).toBe(true);
    expect(await logsIn(bed.db, m.role, m.initial)).toBe(false);
    // The previous version stays readable during the grace period.
    expect(bed.emu.keyVault.secrets.get(m.secret)!.find((v) => v.version === before)!.enabled).toBe(true);

    expect(report.data.roles).toEqual([
      expect.objectContaining({ role: m.role, outcome: 'rotated', oldVersion: before, newVersion: c.version.version, steps: ['stage', 'set', 'test', 'finish'], nextExpiry: expect.any(String) }),
    ]);
    expect(report.actions.map((a) => a.statement).filter(Boolean)).toEqual([`ALTER ROLE "${m.role}" PASSWORD '[redacted]'`]);
    const text = JSON.stringify(report) + (d.log as unknown as { lines: string[] }).lines.join('\n');
    for (const value of allStoredValues(bed.emu)) expect(text).not.toContain(value);
    const { rows } = await bed.db.pool.query(`SELECT step, new_version FROM ops.password_rotation WHERE secret_name = $1`, [m.secret]);
    expect(rows).toEqual([{ step: 'finished', new_version: c.version.version }]);
  });

  it('timer: rotates only secrets within 30 days of expiry; disables the previous version once the grace period is over', async () => {
    const m = await managedRole(bed.db, bed.emu, { seed: false });
    roles.push(m.role);
    const now = Math.floor(Date.now() / 1000);
    bed.emu.keyVault.seed(m.secret, m.initial, { contentType: 'text/plain', exp: now + 60 * 86400 });
    const first = await runJob(job, {}, deps(m.env), { trigger: 'test' });
    expect(first.data.roles).toEqual([expect.objectContaining({ outcome: 'not-due' })]);
    expect(bed.emu.keyVault.secrets.get(m.secret)).toHaveLength(1);

    bed.emu.keyVault.latest(m.secret)!.exp = now + 20 * 86400;
    const second = await runJob(job, {}, deps({ ...m.env, DBOPS_ROTATION_GRACE_HOURS: '0' }), { trigger: 'test' });
    expect(second.data.roles).toEqual([expect.objectContaining({ outcome: 'rotated' })]);
    const versions = bed.emu.keyVault.secrets.get(m.secret)!;
    expect(versions.map((v) => v.enabled)).toEqual([false, true]);
    expect(versions[0]!.tags?.['dbops-state']).toBe('previous');
  });

  it('says when the secret or the role is missing; on demand, a missing secret is created', async () => {
    const m = await managedRole(bed.db, bed.emu, { seed: false });
    roles.push(m.role);
    const missing = await runJob(job, {}, deps(m.env), { trigger: 'test' });
    expect(missing.status).toBe('warning');
    expect(missing.findings).toContainEqual(expect.objectContaining({ check: 'rotation.secret-missing', target: m.role }));
    // On demand, a missing secret is created: the role gets its first managed password.
    const created = await runJob(job, { role: m.role }, deps(m.env), { trigger: 'test' });
    expect(created.data.roles).toEqual([expect.objectContaining({ outcome: 'rotated', oldVersion: null })]);
    const c = currentCredential(bed.emu, m.secret, m.role);
    expect(await logsIn(bed.db, m.role, c.password)).toBe(true);

    const unknown = await runJob(job, { role: 'no_such_role' }, deps(m.env), { trigger: 'test' });
    expect(unknown.status).toBe('failed');
    expect(unknown.summary).toMatch(/not a managed role.*DBOPS_ROTATION_ROLES/);
  });

  it('dry run plans the steps and changes nothing', async () => {
    const m = await managedRole(bed.db, bed.emu);
    roles.push(m.role);
    const report = await runJob(job, { role: m.role }, deps(m.env), { trigger: 'test', dryRun: true });
    expect(report.data.roles).toEqual([expect.objectContaining({ outcome: 'planned' })]);
    expect(report.actions.every((a) => a.status === 'planned')).toBe(true);
    expect(report.actions.map((a) => a.statement).filter(Boolean)).toEqual([`ALTER ROLE "${m.role}" PASSWORD '[redacted]'`]);
    expect(bed.emu.keyVault.secrets.get(m.secret)).toHaveLength(1);
    expect(await logsIn(bed.db, m.role, m.initial)).toBe(true);
  });

  it('skips with the missing setting named when Key Vault is not configured', async () => {
    const report = await runJob(job, {}, testDeps(bed.db), { trigger: 'test' });
    expect(report.status).toBe('skipped');
    expect(report.summary).toMatch(/DBOPS_KEYVAULT_URL|Azure/);
  });

  it('inventory for the weekly account review lists each managed login with its dates', async () => {
    const m = await managedRole(bed.db, bed.emu);
    roles.push(m.role);
    const now = Date.now();
    bed.emu.keyVault.latest(m.secret)!.exp = Math.floor(now / 1000) + 10 * 86400;
    const list = await keyVaultSecretInventory(bed.emu.services().secrets, [{ role: m.role, secret: m.secret }, { role: 'x_absent', secret: 'absent-secret' }], false).list();
    expect(list).toEqual([{ name: m.secret, role: m.role, createdOn: expect.any(Date), expiresOn: new Date((Math.floor(now / 1000) + 10 * 86400) * 1000), enabled: true }]);
    const dual = await keyVaultSecretInventory(bed.emu.services().secrets, [{ role: m.role, secret: m.secret }], true).list();
    expect(dual.map((s) => s.role)).toEqual([`${m.role}_blue`, `${m.role}_green`]);
  });
});

describe('password-rotation from Key Vault events', () => {
  const roles: string[] = [];
  const bed = useAzureTestbed({ beforeDrop: (d) => dropRoles(d, ...roles) });

  const nearExpiry = (id: string, data: Record<string, unknown>) => ({
    id,
    topic: '/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-dbops',
    subject: String(data.ObjectName ?? data.objectName ?? ''),
    eventType: 'Microsoft.KeyVault.SecretNearExpiry',
    eventTime: new Date().toISOString(),
    data,
    dataVersion: '1',
    metadataVersion: '1',
  });

  it('duplicate and stale SecretNearExpiry events rotate once; a disabled secret is not rotated', async () => {
    const m = await managedRole(bed.db, bed.emu);
    roles.push(m.role);
    const v1 = bed.emu.keyVault.latest(m.secret)!.version;
    const d = testDeps(bed.db, { env: { ...bed.emu.env, ...m.env }, services: { azure: bed.emu.services() } });
    const findJob = (n: string) => (n === job.name ? job : undefined);
    const handle = (payload: unknown) => handleSignals(payload, { source: 'eventgrid', trigger: 'eventgrid', deps: d, findJob });

    // PascalCase keys with numeric strings, as Key Vault sends them.
    const first = await handle(nearExpiry('ev-1', { Id: `${bed.emu.endpoint}/secrets/${m.secret}/${v1}`, VaultName: 'kv-dbops', ObjectType: 'Secret', ObjectName: m.secret, Version: v1, NBF: null, EXP: '1766592000' }));
    expect(first).toEqual([expect.objectContaining({ outcome: 'ran', job: 'password-rotation', status: 'ok' })]);
    expect(bed.emu.keyVault.secrets.get(m.secret)).toHaveLength(2);

    const redelivered = await handle(nearExpiry('ev-1', { ObjectName: m.secret, Version: v1 }));
    expect(redelivered).toEqual([expect.objectContaining({ outcome: 'duplicate' })]);

    // Another event (new id, camelCase, stray spaces) about the version that is no longer current.
    const stale = await handle(nearExpiry('ev-2', { ' objectName ': ` ${m.secret}`, 'version ': v1, exp: 1766592000 }));
    expect(stale).toEqual([expect.objectContaining({ outcome: 'ran', status: 'ok' })]);
    expect(bed.emu.keyVault.secrets.get(m.secret)).toHaveLength(2);
    const { rows } = await bed.db.pool.query(`SELECT event_id, status, reason FROM ops.event_inbox ORDER BY received_at`);
    expect(rows.map((r) => [r.event_id, r.status])).toEqual([
      ['ev-1', 'processed'],
      ['ev-2', 'processed'],
    ]);
    expect(rows[1].reason).toMatch(/rotated after the event\): nothing to do/);

    // A disabled secret: recognised, acknowledged, not rotated.
    const current = bed.emu.keyVault.latest(m.secret)!;
    current.enabled = false;
    const disabled = await handle(nearExpiry('ev-3', { ObjectName: m.secret, Version: current.version }));
    expect(disabled).toEqual([expect.objectContaining({ outcome: 'ran', status: 'warning' })]);
    expect(bed.emu.keyVault.secrets.get(m.secret)).toHaveLength(2);
    current.enabled = true;

    // Not a managed secret: ignored by the router.
    const foreign = await handle(nearExpiry('ev-4', { ObjectName: 'someone-elses-secret' }));
    expect(foreign).toEqual([expect.objectContaining({ outcome: 'ignored' })]);
  });

  it('a malformed event is rejected with a clear log line and does not crash the handler', async () => {
    const d = testDeps(bed.db, { env: { ...bed.emu.env }, services: { azure: bed.emu.services() } });
    const out = await handleSignals({ eventType: 'Microsoft.KeyVault.SecretNearExpiry', id: 'bad-1', data: { VaultName: 'kv' } }, { source: 'eventgrid', trigger: 'eventgrid', deps: d, findJob: () => job });
    expect(out).toEqual([expect.objectContaining({ outcome: 'unreadable', reason: expect.stringMatching(/ObjectName/) })]);
    expect((d.log as unknown as { lines: string[] }).lines.join('\n')).toMatch(/rejected eventgrid payload element: Key Vault event without ObjectName/);
  });
});
