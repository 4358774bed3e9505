import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backupVerification, RESTORE_CREATED_BY, RESTORE_PURPOSE } from '../../src/jobs/backup-verification/index.js';
import { loadSampleData } from '../../src/platform/db/sample-data.js';
import { registerJob, type JobReport } from '../../src/shared/job.js';
import { runJob } from '../../src/shared/runner/run-job.js';
import { startAzureEmulator, type AzureEmulator } from '../../src/local-azure/index.js';
import { realDatabaseRestores, snapshotDatabase } from '../../src/local-azure/restore.js';
import { adminUrl, createTestDatabase, testDeps, type TestDatabase } from '../support/db.js';

const job = registerJob(backupVerification);

/**
 * The weekly restore test across ticks, against the Azure emulator whose restores are real
 * copies of a snapshot of the test database (the "production" the job compares with).
 */
describe('backup-verification: the weekly restore test', () => {
  let db: TestDatabase;
  let emu: AzureEmulator;
  let clock: Date;
  let afterCopy: ((copy: pg.Client) => Promise<void>) | undefined;
  let hooks: ReturnType<typeof realDatabaseRestores>;

  beforeAll(async () => {
    db = await createTestDatabase();
    await loadSampleData(db.pool, { months: 2, logsPerMonth: 300, changeRequests: 400, monthsAhead: 1 });
    const snapshot = await snapshotDatabase(adminUrl(), db.name);
    emu = await startAzureEmulator();
    hooks = realDatabaseRestores({ adminUrl: adminUrl(), snapshot, afterCopy: async (c) => afterCopy?.(c) });
    emu.postgres.hooks = hooks;
    // A fresh backup, so the daily check a tick may catch up on has nothing to say.
    emu.postgres.backups.set(emu.serverName.toLowerCase(), [{ name: 'daily', backupType: 'Full', source: 'Automatic', completedTime: new Date(Date.now() - 3_600_000).toISOString() }]);
  }, 60_000);
  afterAll(async () => {
    await emu?.close();
    const admin = new pg.Client({ connectionString: adminUrl() });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(`${db.name}_backup`)}`);
    await admin.end();
    await db?.drop();
  });
  beforeEach(async () => {
    // A test that failed midway must not leave its attempt in flight for the next one.
    await db.pool.query(`UPDATE ops.backup_verification SET state = 'done', finished_at = now() WHERE state <> 'done'`);
    clock = new Date();
    afterCopy = undefined;
    emu.clearFaults();
  });

  const env = () => ({ ...emu.env, DBOPS_BACKUP_TEST_EMULATOR_TAGS: 'true', DBOPS_BACKUP_SAMPLE_ROWS: '40' });
  const tick = (params: Record<string, unknown> = {}, dryRun = false) =>
    runJob(job, { mode: 'reconcile', ...params }, testDeps(db, { env: env(), services: { azure: emu.services() }, now: () => clock }), { trigger: 'test', dryRun });

  const temporaryServers = () => [...emu.postgres.servers.values()].filter((s) => s.tags?.purpose === RESTORE_PURPOSE).map((s) => s.name);
  const copies = async () => (await db.pool.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'restored\\_%'`)).rows.map((r) => r.datname);
  const attempt = async (id: number) => (await db.pool.query(`SELECT * FROM ops.backup_verification WHERE id = $1`, [id])).rows[0] as Record<string, unknown>;

  /** Ticks until the attempt in flight is done; returns every report. */
  async function untilDone(first: JobReport, options: { max?: number; settle?: boolean } = {}): Promise<JobReport[]> {
    const max = options.max ?? 15;
    const reports = [first];
    while (reports.at(-1)!.data.state !== 'done') {
      if (reports.length > max) throw new Error(`not done after ${max} ticks: ${reports.map((r) => r.summary).join(' | ')}`);
      // An operation nobody polls any more (its record lost in a crash) still finishes in Azure.
      if (options.settle) await emu.settleOperations();
      reports.push(await tick());
    }
    return reports;
  }

  it('restores a real copy, verifies it, deletes it, and reports RTO, RPO and cost', async () => {
    const reports = await untilDone(await tick({ start: true }));
    const last = reports.at(-1)!;
    expect(last.status, last.summary).toBe('ok');
    expect(last.summary).toMatch(/passed/);
    expect(last.data).toMatchObject({ lastRestoreTestResult: 'passed', rpoMinutes: 0, rtoTargetMinutes: 240, rpoTargetMinutes: 60, sku: 'Standard_D4s_v3' });
    for (const key of ['restoreMinutes', 'rtoMinutes', 'costUsd']) expect(typeof last.data[key], key).toBe('number');
    expect(new Date(last.data.restorePoint as string).getTime()).toBe(clock.getTime() - 10 * 60_000);
    const row = await attempt(last.data.attempt as number);
    expect(row).toMatchObject({ state: 'done', result: 'passed', operation: null });
    expect(row.measurements).toMatchObject({ amcheck: 'checked', rowCounts: { pc_product_change_history: { production: expect.any(Number) } } });
    expect((row.measurements as { indexesChecked: number }).indexesChecked).toBeGreaterThan(5);
    expect((row.measurements as { rowsCompared: number }).rowsCompared).toBeGreaterThan(40);
    // The restore asked for: tagged, from the configured server, one per attempt.
    const put = emu.calls.find((c) => c.operation === 'servers.createOrUpdate' && c.method === 'PUT');
    expect(put?.body).toMatchObject({ properties: { createMode: 'PointInTimeRestore' }, tags: { purpose: RESTORE_PURPOSE, 'created-by': RESTORE_CREATED_BY, 'expires-at': expect.any(String) } });
    expect(put?.path).toMatch(new RegExp(`/flexibleServers/${emu.serverName}-rt-\\d{12}-\\d+$`));
    expect(temporaryServers()).toEqual([]);
    expect(await copies()).toEqual([]);
    // Each tick advanced at most one step, and the next tick with nothing due starts nothing.
    expect(reports.length).toBeGreaterThanOrEqual(3);
    const idle = await tick();
    expect(idle.data.state).toBe('idle');
    expect(idle.data.lastRestoreTestResult).toBe('passed');
  });

  it('fails when the restored copy lacks rows, naming the table and the difference', async () => {
    afterCopy = async (c) => {
      // The lowest ids (which the checksum sample covers) among rows an hour old or more: lowest
      // ids are not the oldest rows in the sample data, and a row newer than the restore point's
      // 5-minute margin would not count as missing.
      await c.query(
        `DELETE FROM product_change.pc_product_change_history
          WHERE id IN (SELECT id FROM product_change.pc_product_change_history WHERE created_at < now() - interval '1 hour' ORDER BY id LIMIT 7)`,
      );
    };
    const last = (await untilDone(await tick({ start: true }))).at(-1)!;
    expect(last.status).toBe('critical');
    expect(last.findings).toContainEqual(
      expect.objectContaining({ check: 'restore.row-count', target: 'product_change.pc_product_change_history', value: -7, message: expect.stringMatching(/7 missing/) }),
    );
    // The oldest rows were sampled too: their absence shows as differing checksums.
    expect(last.findings).toContainEqual(expect.objectContaining({ check: 'restore.checksum', target: 'product_change.pc_product_change_history' }));
    expect(last.findings).toContainEqual(expect.objectContaining({ check: 'restore-test.failed', severity: 'critical' }));
    expect(temporaryServers()).toEqual([]);
    expect(await copies()).toEqual([]);
  });

  /** A crash: the tick's Azure calls happened, its write to the attempt row did not. */
  async function crashIn(state: string) {
    const first = await tick({ start: true });
    const id = first.data.attempt as number;
    if (state === 'starting') {
      // The restore request went out, the process died before recording it.
      await db.pool.query(`UPDATE ops.backup_verification SET state = 'starting', operation = NULL, operation_kind = NULL, restore_requested_at = NULL WHERE id = $1`, [id]);
    } else {
      let guard = 0;
      while ((await attempt(id)).state !== state) {
        if (++guard > 10) throw new Error(`never reached ${state}`);
        await tick();
      }
      const saved = await db.pool.query(`SELECT to_jsonb(b) AS row FROM ops.backup_verification b WHERE id = $1`, [id]);
      await tick();
      await db.pool.query(
        `UPDATE ops.backup_verification b SET (state, result, failure, operation, operation_kind, restore_requested_at, restore_completed_at, verified_at, delete_requested_at, deleted_at, finished_at, findings, measurements)
           = (SELECT state, result, failure, operation, operation_kind, restore_requested_at, restore_completed_at, verified_at, delete_requested_at, deleted_at, finished_at, findings, measurements
                FROM jsonb_populate_record(NULL::ops.backup_verification, $2)) WHERE id = $1`,
        [id, saved.rows[0].row],
      );
    }
    const last = (await untilDone(await tick(), { settle: true })).at(-1)!;
    if (state === 'verifying') {
      // The lost tick verified and asked for the deletion: the verdict is gone with the server,
      // so the attempt ends failed, saying why, and nothing is left behind.
      expect(last.summary).toMatch(/disappeared before verification/);
    } else {
      expect(last.summary, `crash in ${state}`).toMatch(/passed/);
    }
    expect(temporaryServers(), `crash in ${state}`).toEqual([]);
    expect(await copies()).toEqual([]);
  }

  it.each(['starting', 'restoring', 'verifying', 'deleting'])('resumes after a crash while %s and leaks no server', async (state) => {
    await crashIn(state);
  });

  it('a tick whose Azure call errors changes nothing; the next one carries on', async () => {
    emu.inject({ operation: 'servers.createOrUpdate', kind: 'error', status: 503, times: 10 });
    const failed = await tick({ start: true });
    expect(failed.status).toBe('failed');
    const id = (await db.pool.query(`SELECT id::int FROM ops.backup_verification WHERE state <> 'done'`)).rows[0].id as number;
    expect((await attempt(id)).state).toBe('starting');
    emu.clearFaults();
    expect((await untilDone(await tick())).at(-1)!.summary).toMatch(/passed/);
    expect(temporaryServers()).toEqual([]);
  });

  it('a restore that fails in Azure fails the attempt and leaves nothing behind', async () => {
    emu.inject({ operation: 'servers.createOrUpdate', kind: 'lro-fail', code: 'RestoreFailed', message: 'Backup files could not be read.' });
    const last = (await untilDone(await tick({ start: true }))).at(-1)!;
    expect(last.status).toBe('critical');
    expect(last.findings).toContainEqual(expect.objectContaining({ check: 'restore-test.failed', message: expect.stringMatching(/RestoreFailed/) }));
    expect(temporaryServers()).toEqual([]);
  });

  it('a restore that never finishes fails at the deadline and its server is still deleted', async () => {
    emu.inject({ operation: 'servers.createOrUpdate', kind: 'hang' });
    const first = await tick({ start: true });
    expect((await tick()).data.state).toBe('restoring');
    expect(temporaryServers()).toHaveLength(1);
    clock = new Date(clock.getTime() + 361 * 60_000);
    const last = (await untilDone(await tick())).at(-1)!;
    expect(last.findings).toContainEqual(expect.objectContaining({ check: 'restore-test.failed', message: expect.stringMatching(/deadline/) }));
    expect((await attempt(first.data.attempt as number)).result).toBe('failed');
    expect(temporaryServers()).toEqual([]);
  });

  it('a delete that fails is asked again until the server is gone', async () => {
    emu.inject({ operation: 'servers.delete', kind: 'lro-fail', code: 'InternalServerError', message: 'try again' });
    emu.inject({ operation: 'servers.delete', kind: 'error', status: 500, times: 1 });
    const reports = await untilDone(await tick({ start: true }));
    expect(reports.flatMap((r) => r.findings)).toContainEqual(expect.objectContaining({ check: 'restore-test.delete' }));
    expect(reports.at(-1)!.summary).toMatch(/passed/);
    expect(temporaryServers()).toEqual([]);
    expect(await copies()).toEqual([]);
  });

  it('the orphan sweep deletes expired restore servers only, and reports them', async () => {
    const tags = (expires: Date) => ({ purpose: RESTORE_PURPOSE, 'created-by': RESTORE_CREATED_BY, 'expires-at': expires.toISOString() });
    emu.postgres.addServer({ name: 'pg-left-over', tags: tags(new Date(clock.getTime() - 60_000)) });
    emu.postgres.addServer({ name: 'pg-still-valid', tags: tags(new Date(clock.getTime() + 3_600_000)) });
    emu.postgres.addServer({ name: 'pg-someone-elses', tags: { purpose: 'other', 'expires-at': '2000-01-01T00:00:00Z' } });
    // Even carrying dbops's tags, the configured server is never a candidate.
    emu.postgres.server(emu.serverName).tags = tags(new Date(0));

    const plan = await tick({}, true);
    expect(plan.actions).toContainEqual(expect.objectContaining({ status: 'planned', description: expect.stringMatching(/pg-left-over/) }));
    expect(emu.postgres.servers.has('pg-left-over')).toBe(true);

    const report = await tick();
    expect(report.findings).toContainEqual(expect.objectContaining({ check: 'restore-test.orphan', target: 'pg-left-over' }));
    await emu.settleOperations();
    expect(emu.postgres.servers.has('pg-left-over')).toBe(false);
    expect(emu.postgres.servers.has('pg-still-valid')).toBe(true);
    expect(emu.postgres.servers.has('pg-someone-elses')).toBe(true);
    expect(emu.postgres.servers.has(emu.serverName)).toBe(true);
    expect(report.actions.map((a) => a.description).join('\n')).not.toMatch(/pg-still-valid|pg-someone-elses|pg-dbops-test\b(?!-)/);
    delete emu.postgres.server(emu.serverName).tags;
    emu.postgres.servers.delete('pg-still-valid');
    emu.postgres.servers.delete('pg-someone-elses');
  });

  it('`dbops run backup-verification --dry-run` prints the plan', async () => {
    // The CLI from source (bin/dbops.js would build dist/, which test/cli.test.ts does too).
    // NODE_EXTRA_CA_CERTS (set by the emulator's global setup) makes the child trust the emulator.
    const cli = `const { main } = await import(${JSON.stringify(join(import.meta.dirname, '..', '..', 'src', 'cli.ts'))}); process.exitCode = await main(process.argv.slice(1));`;
    const args = ['run', 'backup-verification', '--dry-run', '--verbose', '--database-url', db.url];
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', cli, ...args], {
      env: { ...process.env, ...env() },
      timeout: 120_000,
    }).catch((err: { stdout: string; stderr: string }) => ({ stdout: `${err.stdout}${err.stderr}` }));
    expect(stdout).toMatch(/az postgres flexible-server restore --resource-group rg-dbops-test --name pg-dbops-test-rt-\d{12}-\d+ --source-server pg-dbops-test/);
    expect(stdout).toMatch(/flexible-server delete/);
  }, 150_000);

  it('a dry run prints the plan and starts nothing', async () => {
    const before = emu.calls.filter((c) => c.method === 'PUT').length;
    const plan = await tick({ start: true }, true);
    expect(plan.dryRun).toBe(true);
    expect(plan.actions.map((a) => a.statement ?? a.description).join('\n')).toMatch(/flexible-server restore[\s\S]*verify[\s\S]*flexible-server delete/);
    expect(emu.calls.filter((c) => c.method === 'PUT').length).toBe(before);
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM ops.backup_verification WHERE state <> 'done'`)).rows[0].n).toBe(0);
  });
});
