import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionMaintenance } from '../../src/jobs/partition-maintenance/index.js';
import { listPartitions, monthStart, monthlyPartitionName } from '../../src/shared/db/partitions.js';
import { loadSampleData } from '../../src/shared/db/sample-data.js';
import { registerJob, type JobReport } from '../../src/shared/job.js';
import { runJob } from '../../src/shared/runner/run-job.js';
import type { Env } from '../../src/shared/settings.js';
import { createTestDatabase, testDeps, type TestDatabase } from '../support/db.js';

const job = registerJob(partitionMaintenance);
const LOG = 'product_change.pc_kos_integration_log';
const now = new Date();
const monthName = (offset: number) => monthlyPartitionName('pc_kos_integration_log', monthStart(now, offset));

async function freshDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase({ prefix: 'dbops_parts' });
  // 15 months of logs, the current one included: two months are past the 12-month retention.
  await loadSampleData(db.pool, { months: 15, logsPerMonth: 400, changeRequests: 20 });
  return db;
}

const run = (db: TestDatabase, env: Env = {}, params: Record<string, unknown> = {}, dryRun = false): Promise<JobReport> =>
  runJob(job, params, testDeps(db, { env }), { trigger: 'test', dryRun });

const names = async (db: TestDatabase) => (await listPartitions(db.pool, 'product_change', 'pc_kos_integration_log')).map((p) => p.name);

const countFrom = async (db: TestDatabase, from: Date) =>
  Number((await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${LOG} WHERE created_at >= $1`, [from])).rows[0]!.n);

/** Clients inserting as the service does, each insert timed: none may fail or wait long. */
function startInserters(db: TestDatabase, clients: number) {
  const latencies: number[] = [];
  const failures: string[] = [];
  let stopping = false;
  const loops = Array.from({ length: clients }, async (_, i) => {
    const c = new pg.Client({ connectionString: db.url, application_name: `pc-app-${i}` });
    await c.connect();
    try {
      while (!stopping) {
        const t = performance.now();
        try {
          await c.query(`INSERT INTO ${LOG} (request_id, integration_type, is_success, response_time_ms) VALUES ($1, 'CUSTOMER_INFO', true, 42)`, [`LIVE-${i}`]);
        } catch (err) {
          failures.push((err as Error).message);
        }
        latencies.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      await c.end();
    }
  });
  return {
    async stop() {
      stopping = true;
      await Promise.all(loops);
      return { inserts: latencies.length, failures, maxMs: Math.max(...latencies) };
    },
  };
}

describe('partition-maintenance on 15 months of data', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(() => db.drop());
  const env = { DBOPS_PARTITION_PREMAKE_MONTHS: '5' };

  it('dry run lists the exact statements in order and changes nothing', async () => {
    const before = await names(db);
    const report = await run(db, env, {}, true);
    expect(report.status).not.toBe('failed');
    expect(report.actions.length).toBeGreaterThan(0);
    expect(report.actions.every((a) => a.status === 'planned')).toBe(true);
    const statements = report.actions.map((a) => a.statement);
    const ahead4 = `"product_change"."${monthName(4)}"`;
    expect(statements.slice(0, 3)).toEqual([
      expect.stringMatching(new RegExp(`^CREATE TABLE ${escape(ahead4)} \\(LIKE "product_change"."pc_kos_integration_log" INCLUDING DEFAULTS INCLUDING INDEXES`)),
      expect.stringMatching(new RegExp(`^ALTER TABLE "product_change"."pc_kos_integration_log" ATTACH PARTITION ${escape(ahead4)} FOR VALUES FROM`)),
      `ALTER TABLE ${ahead4} DROP CONSTRAINT IF EXISTS "dbops_partition_bound"`,
    ]);
    const oldest = `"product_change"."${monthName(-14)}"`;
    expect(statements).toContain(`ALTER TABLE "product_change"."pc_kos_integration_log" DETACH PARTITION ${oldest} CONCURRENTLY`);
    expect(statements.indexOf(`DROP TABLE ${oldest}`)).toBe(statements.indexOf(`ALTER TABLE "product_change"."pc_kos_integration_log" DETACH PARTITION ${oldest} CONCURRENTLY`) + 1);
    expect(await names(db)).toEqual(before);
    expect(report.summary).toMatch(/would drop 2 partition/);
  });

  it('drops exactly the partitions past 12 months, keeps every other row, premakes ahead, under concurrent inserts', async () => {
    const keptFrom = monthStart(now, -12);
    const keptBefore = await countFrom(db, keptFrom);
    const inserters = startInserters(db, 4);
    await new Promise((r) => setTimeout(r, 200));
    const report = await run(db, env);
    const load = await inserters.stop();

    expect(report.status, JSON.stringify(report.findings)).toBe('ok');
    const after = await names(db);
    expect(after).not.toContain(monthName(-14));
    expect(after).not.toContain(monthName(-13));
    for (let i = -12; i <= 5; i++) expect(after).toContain(monthName(i));
    expect(after).toHaveLength(18);
    expect(await countFrom(db, keptFrom)).toBe(keptBefore + load.inserts);

    const data = report.data as { tables: Array<{ dropped: Array<{ name: string; estimatedRows: number; bytes: number }>; created: unknown[]; periodsAhead: number }> };
    expect(data.tables[0]!.dropped.map((d) => d.name)).toEqual([monthName(-14), monthName(-13)]);
    expect(data.tables[0]!.dropped[0]!.estimatedRows).toBeGreaterThan(0);
    expect(data.tables[0]!.dropped[0]!.bytes).toBeGreaterThan(0);
    expect(data.tables[0]!.created).toHaveLength(2);
    expect(data.tables[0]!.periodsAhead).toBe(5);

    // The service's inserts never failed and never queued behind the job (generous bound, not a timing test).
    expect(load.failures).toEqual([]);
    expect(load.inserts).toBeGreaterThan(10);
    expect(load.maxMs).toBeLessThan(2000 + 3000);

    const ops = await db.pool.query(`SELECT operation, state, partition_name FROM ops.partition_operation WHERE finished_at IS NOT NULL ORDER BY id`);
    expect(ops.rows.filter((r) => r.operation === 'retire').map((r) => [r.partition_name, r.state])).toEqual([
      [monthName(-14), 'dropped'],
      [monthName(-13), 'dropped'],
    ]);
  });

  it('changes nothing on a second run', async () => {
    const before = await names(db);
    const report = await run(db, env);
    expect(report.status).toBe('ok');
    expect(report.actions).toEqual([]);
    expect(await names(db)).toEqual(before);
    expect(report.summary).toMatch(/nothing to change; 5 month\(s\) ahead/);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
