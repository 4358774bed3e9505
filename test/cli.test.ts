import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { azureExamplesDir } from './support/azure-examples.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';

const run = promisify(execFile);
const bin = join(import.meta.dirname, '..', 'bin', 'dbops.js');

async function dbops(args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { env: { ...process.env, DATABASE_URL: '', ...env }, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('dbops CLI', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    // The first call may build dist/; do it once, outside the timed assertions.
    await dbops(['jobs']);
  }, 180_000);
  afterAll(() => db.drop());

  it('run install-verification --json prints exactly one JSON report and exits 0', async () => {
    const r = await dbops(['run', 'install-verification', '--json', '--database-url', db.url]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0]!);
    expect(report).toMatchObject({ job: 'install-verification', status: 'ok', trigger: 'cli' });
    expect(r.stdout + r.stderr).not.toContain(new URL(db.url).password);
  });

  it('exits 1 on a warning and 2 on a critical finding (monitoring-plugin convention)', async () => {
    const next = new Date();
    const month = new Date(Date.UTC(next.getUTCFullYear(), next.getUTCMonth() + 1, 1));
    const name = `pc_kos_integration_log_p${month.getUTCFullYear()}_${String(month.getUTCMonth() + 1).padStart(2, '0')}`;
    await db.pool.query(`ALTER TABLE product_change.pc_kos_integration_log DETACH PARTITION product_change.${name}`);
    const warn = await dbops(['run', 'install-verification', '--database-url', db.url]);
    expect(warn.code).toBe(1);
    expect(warn.stdout).toMatch(/WARN.*partition\.next-month/);
    await db.pool.query('DROP INDEX product_change.idx_kos_log_response_time');
    const crit = await dbops(['run', 'install-verification'], { DATABASE_URL: db.url });
    expect(crit.code).toBe(2);
    expect(crit.stdout).toMatch(/CRIT index\.missing/);
  });

  it('exits 3 with a clear message for an unknown job, a bad param or no database', async () => {
    const unknown = await dbops(['run', 'no-such-job', '--database-url', db.url]);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/Unknown job "no-such-job". Jobs: install-verification/);
    const bad = await dbops(['run', 'install-verification', '--json', '--param', 'nope=1', '--database-url', db.url]);
    expect(bad.code).toBe(3);
    expect(JSON.parse(bad.stdout)).toMatchObject({ status: 'failed', summary: expect.stringMatching(/nope/) });
    const none = await dbops(['run', 'install-verification']);
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/set DATABASE_URL/);
  });

  it('lists the jobs and every setting', async () => {
    const jobs = await dbops(['jobs', '--json']);
    expect(JSON.parse(jobs.stdout).map((j: { name: string }) => j.name)).toContain('install-verification');
    const settings = await dbops(['settings', '--json']);
    expect(JSON.parse(settings.stdout).map((s: { name: string }) => s.name)).toContain('DBOPS_LOCK_TIMEOUT_MS');
  });

  it('events inspect prints one JSON object per event and changes nothing', async () => {
    const file = join(azureExamplesDir, 'eventgrid-KeyVault-SecretNewVersionCreated.json');
    const r = await dbops(['events', 'inspect', file]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([expect.objectContaining({ kind: 'keyvault.secret-new-version', wouldRun: null, ignoredBecause: expect.any(String) })]);
    const missing = await dbops(['events', 'inspect', '/no/such/file.json']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/no such file/);
  });

  it('migrate on an up-to-date database says so', async () => {
    const r = await dbops(['migrate', '--database-url', db.url]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/is up to date/);
  });
});
