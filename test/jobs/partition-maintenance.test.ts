import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionMaintenance } from '../../src/jobs/partition-maintenance/index.js';
import { listPartitions, monthStart, monthlyPartitionName } from '../../src/platform/db/partitions.js';
import { loadSampleData } from '../../src/platform/db/sample-data.js';
import { registerJob, type JobReport } from '../../src/shared/job.js';
import { runJob } from '../../src/shared/runner/run-job.js';
import type { Env } from '../../src/platform/settings.js';
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
    c.on('error', () => undefined);
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

describe('partition-maintenance in premake mode (the daily check)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ prefix: 'dbops_parts' });
    await loadSampleData(db.pool, { months: 15, logsPerMonth: 50, changeRequests: 10 });
  });
  afterAll(() => db.drop());

  it('creates missing future partitions, drops nothing, and warns when too few lie ahead', async () => {
    // Data stopped arriving and the next months were never made: only the current month is left.
    for (const offset of [1, 2, 3]) await db.pool.query(`DROP TABLE product_change.${monthName(offset)}`);
    const before = await names(db);
    const dry = await run(db, {}, { mode: 'premake' }, true);
    expect(dry.findings).toEqual([]);
    expect(dry.actions.filter((a) => a.statement?.includes('ATTACH PARTITION')).map((a) => a.description)).toEqual([1, 2, 3].map((o) => `attach ${monthName(o)} for ${monthStart(now, o).toISOString().slice(0, 7)}`));

    const report = await run(db, {}, { mode: 'premake' });
    expect(report.status).toBe('ok');
    const after = await names(db);
    expect(after).toEqual([...before, monthName(1), monthName(2), monthName(3)]);
    expect(after).toContain(monthName(-14));

    // With premake below the warning floor the job still says so.
    await db.pool.query(`DROP TABLE product_change.${monthName(3)}, product_change.${monthName(2)}`);
    const short = await run(db, { DBOPS_PARTITION_PREMAKE_MONTHS: '1' }, { mode: 'premake' });
    expect(short.findings).toContainEqual(expect.objectContaining({ check: 'partition.future-short', value: 1, threshold: 2 }));
    expect(short.status).toBe('warning');
  });
});

describe('partition-maintenance resumes interrupted work', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(() => db.drop());
  const quick = { DBOPS_PARTITION_LOCK_TIMEOUT_MS: '200', DBOPS_PARTITION_DDL_RETRIES: '1', DBOPS_PARTITION_BLOCKER_WAIT_SECONDS: '0' };

  it('finishes a partition detached but not dropped by an interrupted run', async () => {
    // A report view on the oldest partition lets the detach through but makes the drop fail: the
    // run ends between the two, in the state a crash there would leave.
    await db.pool.query(`CREATE VIEW public.old_report AS SELECT count(*) AS n FROM product_change.${monthName(-14)}`);
    const first = await run(db, quick);
    expect(first.status).toBe('critical');
    const detach = first.actions.find((a) => a.statement?.endsWith(`"${monthName(-14)}" CONCURRENTLY`));
    expect(detach?.status).toBe('done');
    const drop = first.actions.find((a) => a.statement === `DROP TABLE "product_change"."${monthName(-14)}"`);
    expect(drop?.status).toBe('failed');
    expect(drop?.error).toMatch(/other objects depend on it/);
    expect(await names(db)).not.toContain(monthName(-14));
    const open = await db.pool.query(`SELECT state, error FROM ops.partition_operation WHERE partition_name = $1 AND finished_at IS NULL`, [monthName(-14)]);
    expect(open.rows).toEqual([{ state: 'detached', error: expect.stringMatching(/next run/) }]);
    await db.pool.query('DROP VIEW public.old_report');

    const second = await run(db, quick);
    expect(second.status, JSON.stringify(second.findings)).toBe('ok');
    expect(second.findings).toContainEqual(expect.objectContaining({ check: 'partition.resumed' }));
    expect(second.actions[0]).toMatchObject({ statement: `DROP TABLE "product_change"."${monthName(-14)}"`, status: 'done' });
    const exists = await db.pool.query(`SELECT to_regclass($1) AS r`, [`product_change.${monthName(-14)}`]);
    expect(exists.rows[0].r).toBeNull();
    expect(await names(db)).not.toContain(monthName(-13));
    const left = await db.pool.query(`SELECT count(*)::int AS n FROM ops.partition_operation WHERE finished_at IS NULL`);
    expect(left.rows[0].n).toBe(0);
  });

  it('reports a reader that blocks the detach, by name, and keeps the partition', async () => {
    await db.pool.query(`CREATE TABLE product_change.${monthName(-13)} PARTITION OF ${LOG} FOR VALUES FROM ('${monthStart(now, -13).toISOString()}') TO ('${monthStart(now, -12).toISOString()}')`);
    const reader = new pg.Client({ connectionString: db.url, application_name: 'report-reader' });
    reader.on('error', () => undefined);
    await reader.connect();
    try {
      await reader.query('BEGIN');
      await reader.query(`SELECT count(*) FROM product_change.${monthName(-13)}`);
      const report = await run(db, quick);
      expect(report.status).toBe('critical');
      const detach = report.actions.find((a) => a.statement?.endsWith('CONCURRENTLY'));
      expect(detach?.status).toBe('failed');
      expect(detach?.error).toMatch(/gave up after 2 attempt\(s\) of 200 ms lock_timeout; blocked by pid \d+ \(report-reader, idle in transaction/);
    } finally {
      await reader.query('ROLLBACK');
      await reader.end();
    }
    const report = await run(db, quick);
    expect(report.status).toBe('ok');
    expect(await names(db)).not.toContain(monthName(-13));
  });

  it('finishes a detach left pending with FINALIZE', async () => {
    // Make an expired partition again, then interrupt a DETACH ... CONCURRENTLY in its second phase.
    const m = monthStart(now, -13);
    const name = `pc_kos_integration_log_p${m.getUTCFullYear()}_${String(m.getUTCMonth() + 1).padStart(2, '0')}`;
    await db.pool.query(`CREATE TABLE product_change.${name} PARTITION OF ${LOG} FOR VALUES FROM ('${m.toISOString()}') TO ('${monthStart(now, -12).toISOString()}')`);
    const holder = new pg.Client({ connectionString: db.url });
    holder.on('error', () => undefined);
    await holder.connect();
    await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await holder.query(`SELECT count(*) FROM ${LOG}`);
    const detacher = new pg.Client({ connectionString: db.url });
    await detacher.connect();
    await detacher.query(`SET lock_timeout = 300`);
    await expect(detacher.query(`ALTER TABLE ${LOG} DETACH PARTITION product_change.${name} CONCURRENTLY`)).rejects.toThrow(/lock timeout/);
    await detacher.end();
    await holder.query('COMMIT');
    await holder.end();
    const pending = (await listPartitions(db.pool, 'product_change', 'pc_kos_integration_log')).find((p) => p.name === name);
    expect(pending?.detachPending).toBe(true);

    const report = await run(db, quick);
    expect(report.status, JSON.stringify(report.findings)).toBe('ok');
    expect(report.actions.map((a) => a.statement)).toEqual([
      `ALTER TABLE "product_change"."pc_kos_integration_log" DETACH PARTITION "product_change"."${name}" FINALIZE`,
      `DROP TABLE "product_change"."${name}"`,
    ]);
    expect(await names(db)).not.toContain(name);
  });
});

describe('partition-maintenance behind a session holding a conflicting lock', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ prefix: 'dbops_parts' });
  });
  afterAll(() => db.drop());
  const env = { DBOPS_PARTITION_LOCK_TIMEOUT_MS: '300', DBOPS_PARTITION_BLOCKER_WAIT_SECONDS: '0', DBOPS_PARTITION_PREMAKE_MONTHS: '4' };

  async function holdLock() {
    const c = new pg.Client({ connectionString: db.url, application_name: 'manual-vacuum' });
    c.on('error', () => undefined);
    await c.connect();
    await c.query('BEGIN');
    // SHARE UPDATE EXCLUSIVE: what a manual VACUUM/ANALYZE holds. It blocks ATTACH, not inserts.
    await c.query(`LOCK TABLE ${LOG} IN SHARE UPDATE EXCLUSIVE MODE`);
    const { rows } = await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    return { pid: rows[0]!.pid, release: async () => (await c.query('COMMIT'), await c.end()) };
  }

  it('gives up within its bound and names the blocking session', async () => {
    const lock = await holdLock();
    const inserters = startInserters(db, 3);
    try {
      const t = performance.now();
      const report = await run(db, { ...env, DBOPS_PARTITION_DDL_RETRIES: '2' });
      const elapsed = performance.now() - t;
      expect(report.status).toBe('critical');
      const attach = report.actions.find((a) => a.statement?.includes('ATTACH PARTITION'));
      expect(attach?.status).toBe('failed');
      expect(attach?.details).toMatchObject({ attempts: 3 });
      const blocked = report.findings.find((f) => f.check === 'partition.blocked');
      expect(blocked?.message).toContain(`pid ${lock.pid} (manual-vacuum, idle in transaction`);
      expect(blocked?.remedy).toContain(`pg_terminate_backend(${lock.pid})`);
      // 3 attempts of 300 ms plus back-off: seconds, not minutes (a generous bound).
      expect(elapsed).toBeLessThan(20_000);
    } finally {
      await lock.release();
    }
    const load = await inserters.stop();
    expect(load.failures).toEqual([]);
    expect(load.maxMs).toBeLessThan(300 + 3000);
  });

  it('retries until the lock is released, then completes, while inserts go on', async () => {
    const lock = await holdLock();
    const inserters = startInserters(db, 3);
    const released = new Promise((r) => setTimeout(r, 1200)).then(() => lock.release());
    const report = await run(db, { ...env, DBOPS_PARTITION_DDL_RETRIES: '10' });
    await released;
    const load = await inserters.stop();
    expect(report.status, JSON.stringify(report.findings)).toBe('ok');
    const attach = report.actions.find((a) => a.statement?.includes('ATTACH PARTITION'));
    expect(attach?.status).toBe('done');
    expect((attach?.details as { attempts: number }).attempts).toBeGreaterThan(1);
    expect(JSON.stringify(attach?.details)).toContain(String(lock.pid));
    expect((report.data as { lockWaitMs: number }).lockWaitMs).toBeGreaterThan(0);
    expect(await names(db)).toContain(monthName(4));
    expect(load.failures).toEqual([]);
    expect(load.maxMs).toBeLessThan(300 + 3000);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('partition-maintenance with a default partition and an unpartitioned table', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ prefix: 'dbops_parts' });
  });
  afterAll(() => db.drop());

  it('reports rows in a default partition and moves them into proper partitions when asked', async () => {
    await db.pool.query(`CREATE TABLE product_change.pc_kos_integration_log_default PARTITION OF ${LOG} DEFAULT`);
    // Rows six months ahead (no partition there yet) land in the default partition.
    const far = monthStart(now, 6);
    await db.pool.query(
      `INSERT INTO ${LOG} (request_id, integration_type, is_success, created_at)
       SELECT 'FUTURE-' || g, 'PRODUCT_INFO', true, $1::timestamptz + g * interval '1 minute' FROM generate_series(1, 25) g`,
      [far],
    );
    const env = { DBOPS_PARTITION_BATCH_ROWS: '10', DBOPS_PARTITION_BATCH_PAUSE_MS: '0' };
    const seen = await run(db, env);
    expect(seen.status).toBe('warning');
    expect(seen.findings).toContainEqual(expect.objectContaining({ check: 'partition.default', value: 25, target: 'product_change.pc_kos_integration_log_default' }));

    const planned = await run(db, env, { moveDefault: 'true' }, true);
    expect(planned.actions.map((a) => a.description)).toEqual([
      expect.stringMatching(/^create pc_kos_integration_log_p\d{4}_\d\d standalone/),
      expect.stringMatching(/^move 25 row\(s\) from pc_kos_integration_log_default/),
      'move the last rows and attach ' + monthName(6) + ' in one transaction',
      `drop the bound CHECK on ${monthName(6)}`,
    ]);

    const moved = await run(db, env, { moveDefault: 'true' });
    expect(moved.actions.every((a) => a.status === 'done'), JSON.stringify(moved.actions)).toBe(true);
    expect((moved.data as { tables: Array<{ defaultPartition: { moved: number } }> }).tables[0]!.defaultPartition.moved).toBe(25);
    expect(await names(db)).toContain(monthName(6));
    const inDefault = await db.pool.query(`SELECT count(*)::int AS n FROM product_change.pc_kos_integration_log_default`);
    expect(inDefault.rows[0].n).toBe(0);
    const inPartition = await db.pool.query(`SELECT count(*)::int AS n FROM product_change.${monthName(6)}`);
    expect(inPartition.rows[0].n).toBe(25);
  });

  it('trims an unpartitioned table by batched DELETE and says how to convert it', async () => {
    await db.pool.query(`CREATE TABLE product_change.api_audit (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, created_at timestamptz NOT NULL)`);
    await db.pool.query(
      `INSERT INTO product_change.api_audit (created_at) SELECT $1::timestamptz - g * interval '1 day' FROM generate_series(0, 599) g`,
      [now],
    );
    const cutoff = monthStart(now, -12);
    const old = Number((await db.pool.query(`SELECT count(*) AS n FROM product_change.api_audit WHERE created_at < $1`, [cutoff])).rows[0].n);
    const env = { DBOPS_PARTITION_TABLES: 'product_change.api_audit:created_at:month:12', DBOPS_PARTITION_BATCH_ROWS: '50', DBOPS_PARTITION_BATCH_PAUSE_MS: '0' };
    const report = await run(db, env, { table: 'product_change.api_audit' });
    expect(report.findings).toContainEqual(expect.objectContaining({ check: 'partition.slow-path', value: old, remedy: expect.stringMatching(/convert product_change.api_audit to a table partitioned by RANGE \(created_at\)/) }));
    expect(report.summary).toBe(`product_change.api_audit: unpartitioned, deleted ${old} old row(s) (slow path).`);
    const left = await db.pool.query(`SELECT count(*)::int AS n, min(created_at) AS oldest FROM product_change.api_audit`);
    expect(left.rows[0].n).toBe(600 - old);
    expect(left.rows[0].oldest.getTime()).toBeGreaterThanOrEqual(cutoff.getTime());
  });

  it('rejects a malformed table list with the format to use', async () => {
    const report = await run(db, { DBOPS_PARTITION_TABLES: 'product_change.api_audit:created_at:week:12' });
    expect(report.status).toBe('failed');
    expect(report.summary).toMatch(/interval "week" is not one of month, day; write each entry as schema.table:key_column:month\|day:retention\[:premake\]/);
  });
});
