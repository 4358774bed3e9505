import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { installVerification } from '../../src/jobs/install-verification.js';
import { migrate } from '../../src/platform/db/migrate.js';
import { registerJob } from '../../src/shared/job.js';
import { checkServerSettings } from '../../src/shared/verify/installation.js';
import { memoryLogger } from '../../src/platform/log.js';
import { runJob } from '../../src/shared/runner/run-job.js';
import { createTestDatabase, testDeps, withClusterLock, type TestDatabase } from '../support/db.js';

const job = registerJob(installVerification);

describe('install-verification', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  const run = () => runJob(job, {}, testDeps(db), { trigger: 'test' });

  it('is ok on a fresh migrate, with server-setting differences as notes only', async () => {
    const report = await run();
    expect(report.status).toBe('ok');
    expect(report.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    // The embedded server differs from the plan (e.g. shared_buffers): said, not failed.
    expect(report.findings.some((f) => f.check === 'setting.differs' && f.target === 'shared_buffers')).toBe(true);
    expect(report.findings.some((f) => f.target === 'log_statement')).toBe(false);
  });

  it('names a dropped index', async () => {
    await db.pool.query('DROP INDEX product_change.idx_pc_history_customer_date');
    const report = await run();
    expect(report.status).toBe('critical');
    expect(report.findings).toContainEqual(expect.objectContaining({ check: 'index.missing', target: 'product_change.idx_pc_history_customer_date' }));
    await db.pool.query('CREATE INDEX idx_pc_history_customer_date ON product_change.pc_product_change_history (customer_id, requested_at DESC)');
  });

  it('names an index whose definition drifted', async () => {
    await db.pool.query('DROP INDEX product_change.idx_pc_history_status_date');
    await db.pool.query('CREATE INDEX idx_pc_history_status_date ON product_change.pc_product_change_history (process_status)');
    const report = await run();
    expect(report.findings).toContainEqual(
      expect.objectContaining({ check: 'index.definition', target: 'product_change.idx_pc_history_status_date', value: 'pc_product_change_history USING btree (process_status)' }),
    );
    await db.pool.query('DROP INDEX product_change.idx_pc_history_status_date');
    await db.pool.query('CREATE INDEX idx_pc_history_status_date ON product_change.pc_product_change_history (process_status, requested_at DESC)');
  });

  it('names a missing grant and a forbidden DELETE, each with the statement that fixes it', async () => {
    await db.pool.query('REVOKE INSERT ON product_change.pc_kos_integration_log FROM product_change_app');
    await db.pool.query('GRANT DELETE ON product_change.pc_product_change_history TO product_change_app');
    const report = await run();
    expect(report.status).toBe('critical');
    expect(report.findings).toContainEqual(
      expect.objectContaining({
        check: 'grant.missing',
        target: 'product_change_app on product_change.pc_kos_integration_log',
        remedy: 'GRANT INSERT ON TABLE "product_change"."pc_kos_integration_log" TO "product_change_app"',
      }),
    );
    expect(report.findings).toContainEqual(
      expect.objectContaining({ check: 'grant.forbidden', remedy: 'REVOKE DELETE ON TABLE "product_change"."pc_product_change_history" FROM "product_change_app"' }),
    );
    await db.pool.query('GRANT INSERT ON product_change.pc_kos_integration_log TO product_change_app');
    await db.pool.query('REVOKE DELETE ON product_change.pc_product_change_history FROM product_change_app');
  });

  it('names a missing partition for the current month', async () => {
    const now = new Date();
    const name = `pc_kos_integration_log_p${now.getUTCFullYear()}_${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
    await db.pool.query(`ALTER TABLE product_change.pc_kos_integration_log DETACH PARTITION product_change.${name}`);
    const report = await run();
    expect(report.findings).toContainEqual(expect.objectContaining({ check: 'partition.current-month', severity: 'critical' }));
    await db.pool.query(
      `ALTER TABLE product_change.pc_kos_integration_log ATTACH PARTITION product_change.${name} FOR VALUES FROM ('${new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString()}') TO ('${new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString()}')`,
    );
    expect((await run()).status).toBe('ok');
  });

  it('reports a missing circuit-breaker row', async () => {
    await db.pool.query(`DELETE FROM product_change.pc_circuit_breaker_state`);
    const report = await run();
    expect(report.findings).toContainEqual(expect.objectContaining({ check: 'circuit-breaker.default-row' }));
    await db.pool.query(`INSERT INTO product_change.pc_circuit_breaker_state (service_name) VALUES ('KOS_SERVICE')`);
  });

  it('reports a setting that waits for a restart', async () => {
    // The server's own answer, in a session: a static setting changed in the configuration but
    // not yet in effect shows pending_restart (ALTER SYSTEM would touch the cluster other tests share).
    const pendingDb = {
      query: async <T,>(sql: string) => {
        expect(sql).toMatch(/pending_restart/);
        return { rows: [{ name: 'max_connections', setting: '100', unit: null, pending_restart: true }] as T[], rowCount: 1 };
      },
    } as unknown as Parameters<typeof checkServerSettings>[0];
    const findings = await checkServerSettings(pendingDb, 'info');
    expect(findings).toContainEqual(expect.objectContaining({ check: 'setting.pendingRestart', severity: 'warning', target: 'max_connections', value: '100' }));
  });

  it('says to migrate when the schema is missing', async () => {
    const empty = await createTestDatabase({ migrated: false });
    try {
      await withClusterLock(async () => {
        // Only the ops schema, so the runner can record the run.
        await migrate(empty.target, memoryLogger());
      });
      await empty.pool.query('DROP SCHEMA product_change CASCADE');
      const report = await runJob(job, {}, testDeps(empty), { trigger: 'test' });
      expect(report.status).toBe('critical');
      expect(report.summary).toMatch(/dbops migrate/);
    } finally {
      await empty.drop();
    }
  });
});

describe('install-verification params', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db ??= await createTestDatabase();
  });
  afterAll(() => db?.drop());

  it('rejects unknown params', async () => {
    await expect(runJob(job, { scheam: 'x' }, testDeps(db), { trigger: 'test' })).rejects.toThrow(/Unrecognized key/i);
  });
});
