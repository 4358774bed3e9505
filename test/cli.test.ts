import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobNames } from '../src/jobs/index.js';
import { azureExamplesDir } from './support/azure-examples.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';

const run = promisify(execFile);
const bin = join(import.meta.dirname, '..', 'bin', 'dbops.js');
const withEmbedded = join(import.meta.dirname, 'support', 'dbops-with-embedded.ts');
const tsx = join(import.meta.dirname, '..', 'node_modules', 'tsx', 'dist', 'cli.mjs');

async function dbops(args: string[], env: NodeJS.ProcessEnv = {}, command: string[] = [bin], timeoutMs = 120_000) {
  try {
    const { stdout, stderr } = await run(process.execPath, [...command, ...args], { env: { ...process.env, DATABASE_URL: '', ...env }, timeout: timeoutMs });
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

  it('keeps its exit codes 0, 1, 2 and 3 in a process that has loaded the embedded server', async () => {
    const viaEmbedded = (args: string[]) => dbops(args, {}, [tsx, withEmbedded]);
    const next = new Date();
    const month = new Date(Date.UTC(next.getUTCFullYear(), next.getUTCMonth() + 1, 1));
    const name = `pc_kos_integration_log_p${month.getUTCFullYear()}_${String(month.getUTCMonth() + 1).padStart(2, '0')}`;
    const scratch = await createTestDatabase({ prefix: 'dbops_cli_codes' });
    try {
      expect((await viaEmbedded(['run', 'install-verification', '--database-url', scratch.url])).code).toBe(0);
      await scratch.pool.query(`ALTER TABLE product_change.pc_kos_integration_log DETACH PARTITION product_change.${name}`);
      expect((await viaEmbedded(['run', 'install-verification', '--database-url', scratch.url])).code).toBe(1);
      await scratch.pool.query('DROP INDEX product_change.idx_kos_log_response_time');
      expect((await viaEmbedded(['run', 'install-verification', '--database-url', scratch.url])).code).toBe(2);
    } finally {
      await scratch.drop();
    }
    expect((await viaEmbedded(['run', 'no-such-job'])).code).toBe(3);
  });

  it('demo runs on its embedded server, exits 0 and prints no warning when nothing is wrong', async () => {
    const demo = await dbops(['demo', '--small']);
    expect(demo.code).toBe(0);
    expect(demo.stdout).toMatch(/overall ok/);
    expect(demo.stdout + demo.stderr).not.toMatch(/WARN|ERROR|57P01/);
  }, 180_000);

  it('demo --all runs all nine jobs against the local Azure stand-in, each report labelled so, exits 0 with no warning', async () => {
    // A busy machine may take minutes; a timeout would kill the demo and its server mid-run.
    const demo = await dbops(['demo', '--small', '--all'], {}, [bin], 220_000);
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stdout + demo.stderr).not.toMatch(/WARN|ERROR|CRIT|FAIL|57P01/);
    expect(demo.stdout).not.toMatch(/not configured/);
    const blocks = demo.stdout.split('\n\n');
    const reportOf = (job: string) => blocks.filter((b) => b.startsWith(`[OK] ${job} — `));
    // version-upgrade acts on production when asked; the demo names it and how to start it.
    expect(demo.stdout).toMatch(/On demand only[^\n]*\n {2}version-upgrade +npx dbops run version-upgrade --param plan=precheck/);
    for (const job of jobNames().filter((j) => j !== 'version-upgrade')) {
      expect(reportOf(job), `${job} has a report`).not.toHaveLength(0);
      for (const block of reportOf(job)) expect(block, job).toMatch(/\n {3}Azure: local Azure stand-in \(not Azure\) at https:\/\/127\.0\.0\.1:\d+/);
    }
    expect(reportOf('partition-maintenance')[0]).not.toMatch(/dry run/);
    expect(reportOf('failover-check')[0]).toMatch(/Drill: RTO \d+(\.\d)? s/);
    expect(reportOf('backup-verification')[0]).toMatch(/Restore test #1 passed/);
    expect(reportOf('password-rotation')[0]).toMatch(/product_change_app: rotated/);
    expect(reportOf('cost-check')[0]).toMatch(/against a budget of USD 1,600\.00/);
    // Two health snapshots: the status page draws trends.
    expect(reportOf('health-check')).toHaveLength(2);
    expect(demo.stdout).toMatch(/9 jobs run \(\d+ runs\), overall ok; Azure was the local Azure stand-in/);
  }, 240_000);

  it('answers bad connection input with one line naming the setting, and exit code 3', async () => {
    const cases: Array<{ args: string[]; env?: NodeJS.ProcessEnv; says: RegExp }> = [
      { args: ['run', 'health-check', '--database-url', 'notaurl'], says: /--database-url is not a PostgreSQL URL \(it is not a URL\): use postgres:\/\// },
      { args: ['run', 'health-check'], env: { DATABASE_URL: 'http://db.example/x' }, says: /DATABASE_URL is not a PostgreSQL URL \(it does not start with postgres:\/\// },
      { args: ['migrate', '--database-url', 'postgres://dbops:hunter2-not-real@127.0.0.1:1/db'], says: /Cannot connect to 127\.0\.0\.1:1\/db: .*ECONNREFUSED.*check DATABASE_URL \(or --database-url\)/ },
      { args: ['run', 'health-check', '--database-url', 'postgres://dbops:hunter2-not-real@127.0.0.1:1/db'], says: /Cannot connect to 127\.0\.0\.1:1\/db: .*check DATABASE_URL/ },
      { args: ['console', '--database-url', 'postgres://dbops:hunter2-not-real@127.0.0.1:1/db'], says: /Cannot connect to 127\.0\.0\.1:1\/db/ },
    ];
    for (const c of cases) {
      const r = await dbops(c.args, c.env);
      const said = (r.stdout + r.stderr).replace(/^dbops: building.*\n/m, '').trim();
      expect({ args: c.args, code: r.code }).toEqual({ args: c.args, code: 3 });
      expect(said).toMatch(c.says);
      expect(said.split('\n').filter((line) => !line.startsWith('   took '))).toHaveLength(1);
      expect(said).not.toContain('hunter2-not-real');
    }
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
