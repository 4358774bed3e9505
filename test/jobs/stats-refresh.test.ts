import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statsRefresh } from '../../src/jobs/stats-refresh/index.js';
import { registerJob, type JobReport } from '../../src/shared/job.js';
import { runJob } from '../../src/shared/runner/run-job.js';
import { createTestDatabase, statsSettle, testDeps, type TestDatabase } from '../support/db.js';

const job = registerJob(statsRefresh);

const env = {
  DBOPS_UNUSED_INDEX_MIN_MB: '0',
  DBOPS_UNUSED_INDEX_MIN_DAYS: '0',
  DBOPS_ANALYZE_LOCK_TIMEOUT_MS: '300',
  DBOPS_SLOW_QUERY_MS: '100',
  DBOPS_SEQ_SCAN_MIN_ROWS: '100',
  DBOPS_SEQ_SCAN_MIN_COUNT: '3',
  DBOPS_BLOAT_MIN_MB: '0',
};

const analyzed = (r: JobReport) => r.actions.filter((a) => a.status === 'done').map((a) => a.statement).sort();

describe('stats-refresh', () => {
  let db: TestDatabase;
  const run = (options: { dryRun?: boolean; params?: Record<string, unknown> } = {}) =>
    runJob(job, options.params ?? {}, testDeps(db, { env }), { trigger: 'test', dryRun: options.dryRun ?? false });

  /** Changes made on a session that ends: PostgreSQL 14 sends its counters when the backend exits. */
  const change = async (...statements: string[]) => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      for (const s of statements) await client.query(s);
    } finally {
      await client.end();
    }
    await statsSettle();
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    // Autovacuum off on the test tables, so only the job analyzes them.
    const off = 'WITH (autovacuum_enabled = off)';
    await change(
      'CREATE SCHEMA t',
      `CREATE TABLE t.a (id int PRIMARY KEY, v int, w text) ${off}`,
      `CREATE TABLE t.b (id int PRIMARY KEY, v int, w text) ${off}`,
      `CREATE TABLE t.c (id int PRIMARY KEY, v int, w text) ${off}`,
      'CREATE TABLE t.log (k int NOT NULL, v int) PARTITION BY RANGE (k)',
      `CREATE TABLE t.log_1 PARTITION OF t.log FOR VALUES FROM (0) TO (1000) ${off}`,
      `CREATE TABLE t.log_2 PARTITION OF t.log FOR VALUES FROM (1000) TO (2000) ${off}`,
      `CREATE TABLE t.log_3 PARTITION OF t.log FOR VALUES FROM (2000) TO (3000) ${off}`,
      ...['a', 'b', 'c'].map((n) => `INSERT INTO t.${n} SELECT g, g % 100, 'w' || (g % 10) FROM generate_series(1, 1000) g`),
      'INSERT INTO t.log SELECT g % 3000, g FROM generate_series(1, 1500) g',
    );
    // The first runs analyze everything never analyzed (the second: dbops's own tables, which
    // the first run wrote to); the tests start from there.
    const first = await run({ params: { report: false } });
    expect(analyzed(first)).toContain('ANALYZE "t"."log"');
    await statsSettle();
    await run({ params: { report: false } });
    await statsSettle();
  });
  afterAll(() => db.drop());

  it('analyzes only the changed tables and their partitioned parent; a second run analyzes nothing', async () => {
    await change(
      'UPDATE t.a SET v = v + 1 WHERE id <= 200', // 200 > 50 + 0.1 × 1000
      'UPDATE t.b SET v = v + 1 WHERE id <= 10', // below its threshold
      'INSERT INTO t.log SELECT 1000 + g % 1000, g FROM generate_series(1, 300) g', // t.log_2; 300 > 50 + 0.1 × 1500 for the parent
    );
    const report = await run({ params: { report: false } });
    expect(report.status).toBe('ok');
    expect(analyzed(report)).toEqual(['ANALYZE "t"."a"', 'ANALYZE "t"."log"']);
    const parent = report.actions.find((a) => a.statement === 'ANALYZE "t"."log"');
    // One statement refreshes the parent and, on 14, every partition: none is analyzed twice.
    expect(parent?.details).toMatchObject({ kind: 'partitioned', partitions: ['t.log_1', 't.log_2', 't.log_3'] });

    await statsSettle();
    const again = await run({ params: { report: false } });
    expect(analyzed(again)).toEqual([]);
    expect(again.summary).toMatch(/^analyzed 0 of/);
  });

  it('analyzes a changed partition alone until its parent has changed enough, counting changes across partition analyzes', async () => {
    await change('INSERT INTO t.log SELECT 2000 + g % 1000, g FROM generate_series(1, 120) g'); // t.log_3: 120 > 50 + 0.1 × 500
    const first = await run({ params: { report: false } });
    expect(analyzed(first)).toEqual(['ANALYZE "t"."log_3"']);
    expect(first.data.partitionedParents).toContainEqual(expect.objectContaining({ schema: 't', name: 'log', changes: 120, threshold: 230, fresh: true }));

    await statsSettle();
    // t.log_1 alone is over its threshold; together with the 120 rows above, the parent is too.
    await change('INSERT INTO t.log SELECT g % 1000, g FROM generate_series(1, 150) g');
    const second = await run({ params: { report: false } });
    expect(analyzed(second)).toEqual(['ANALYZE "t"."log"']);
    expect(second.actions[0]?.details).toMatchObject({ changes: 270 });
  });

  it('--dry-run lists what it would analyze and why, and analyzes nothing', async () => {
    await change('UPDATE t.c SET v = v + 1 WHERE id <= 500');
    const count = async () =>
      (await db.pool.query<{ n: string }>(`SELECT analyze_count AS n FROM pg_stat_user_tables WHERE relid = 't.c'::regclass`)).rows[0]?.n;
    const before = await count();
    const report = await run({ dryRun: true });
    expect(report.actions).toEqual([
      expect.objectContaining({
        status: 'planned',
        statement: 'ANALYZE "t"."c"',
        description: expect.stringMatching(/500 rows changed since the last analyze, above 150/),
      }),
    ]);
    expect(report.summary).toMatch(/^would analyze 1 of/);
    await statsSettle();
    expect(await count()).toBe(before);
    await run({ params: { report: false } });
    await statsSettle();
  });

  it('records a table locked by another session as a finding and analyzes the rest', async () => {
    await change('UPDATE t.a SET v = v + 1 WHERE id <= 500', 'UPDATE t.b SET v = v + 1 WHERE id <= 500');
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE t.a IN ACCESS EXCLUSIVE MODE');
      const report = await run();
      expect(report.status).toBe('warning');
      // The report itself never waits on the lock.
      expect(report.findings.filter((f) => f.check.endsWith('.error'))).toEqual([]);
      expect(report.findings).toContainEqual(expect.objectContaining({ check: 'analyze.lock-timeout', target: 't.a', threshold: 300, remedy: 'ANALYZE "t"."a"' }));
      expect(analyzed(report)).toEqual(['ANALYZE "t"."b"']);
      expect(report.actions.find((a) => a.statement === 'ANALYZE "t"."a"')?.status).toBe('failed');
      expect(report.summary).toMatch(/analyzed 1 of \d+ relations \(1 failed\)/);
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    await statsSettle();
    expect(analyzed(await run({ params: { report: false } }))).toEqual(['ANALYZE "t"."a"']);
  });

  it('reports unused, duplicate and invalid indexes with the statement to drop each, never a unique or primary-key index', async () => {
    await change(
      'CREATE INDEX c_v ON t.c (v)',
      'CREATE INDEX c_v_w ON t.c (v, w)',
      'CREATE UNIQUE INDEX c_id_v ON t.c (id, v)',
      'CREATE INDEX log_v ON t.log (v)',
    );
    // A failed CREATE INDEX CONCURRENTLY leaves an invalid index behind.
    await expect(db.pool.query('CREATE UNIQUE INDEX CONCURRENTLY c_w_unique ON t.c (w)')).rejects.toThrow(/could not create unique index/);
    const report = await run();
    const of = (check: string) => report.findings.filter((f) => f.check === check);

    expect(of('index.duplicate')).toEqual([
      expect.objectContaining({ target: 't.c_v', remedy: 'DROP INDEX CONCURRENTLY "t"."c_v"', message: expect.stringMatching(/covered by c_v_w/) }),
    ]);
    expect(of('index.invalid')).toEqual([
      expect.objectContaining({
        target: 't.c_w_unique',
        remedy: 'DROP INDEX CONCURRENTLY "t"."c_w_unique"',
        details: expect.objectContaining({ definition: 'CREATE UNIQUE INDEX c_w_unique ON t.c USING btree (w)' }),
      }),
    ]);
    const unused = of('index.unused').map((f) => f.target ?? '');
    expect(unused).toEqual(expect.arrayContaining(['t.c_v', 't.c_v_w', 't.log_v']));
    // Partitioned indexes cannot be dropped concurrently; their partitions' indexes are not listed apart.
    expect(of('index.unused').find((f) => f.target === 't.log_v')?.remedy).toBe('DROP INDEX "t"."log_v"');
    expect(unused.filter((t) => t.startsWith('t.log_'))).toEqual(['t.log_v']);
    for (const never of ['t.a_pkey', 't.c_pkey', 't.c_id_v', 't.c_w_unique']) expect(unused).not.toContain(never);
    // The plan's own indexes are for review, never with a DROP statement.
    const planned = of('index.unused').find((f) => f.target === 'product_change.idx_pc_history_customer_date');
    expect(planned).toMatchObject({ severity: 'info', message: expect.stringMatching(/installation plan requires it/) });
    expect(planned?.remedy).toBeUndefined();
    // On a server whose usage counters are younger than the observation period, nothing is called unused.
    const early = await runJob(job, {}, testDeps(db, { env: { ...env, DBOPS_UNUSED_INDEX_MIN_DAYS: '7' } }), { trigger: 'test' });
    expect(early.findings.filter((f) => f.check === 'index.unused')).toEqual([]);
    expect(early.findings).toContainEqual(expect.objectContaining({ check: 'index.unused-too-early', severity: 'info', threshold: 7 }));
    expect(report.actions.every((a) => !/DROP/.test(a.statement ?? ''))).toBe(true);
    const { rows } = await db.pool.query(`SELECT 1 FROM pg_class WHERE relname IN ('c_v', 'c_w_unique')`);
    expect(rows).toHaveLength(2);
  });

  it('reports heavy sequential scans and estimated bloat', async () => {
    await change(
      `CREATE TABLE t.bloated (id int, pad text) WITH (autovacuum_enabled = off)`,
      `INSERT INTO t.bloated SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g`,
      'DELETE FROM t.bloated WHERE id > 2000',
      'ANALYZE t.bloated',
      ...Array.from({ length: 3 }, () => 'SELECT count(*) FROM t.b WHERE w = $$w1$$'),
    );
    const report = await run();
    expect(report.findings).toContainEqual(expect.objectContaining({ check: 'table.bloat', target: 't.bloated', value: expect.any(Number) }));
    expect(report.findings.find((f) => f.target === 't.bloated')?.value).toBeGreaterThan(80);
    expect(report.findings).toContainEqual(expect.objectContaining({ check: 'table.sequential-scans', target: 't.b' }));
  });

  it('shows a deliberately slow query, with literals redacted', async () => {
    // Only this database's statements from here on: on a loaded machine the migration's own
    // CREATE EXTENSION has taken longer than the 0.3 s below (CI, PostgreSQL 15: 337 ms).
    await change(`SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)`);
    await change('SELECT pg_sleep(0.3)', `DO $$ BEGIN PERFORM pg_sleep(0.15); PERFORM 'token=abc123notreal'; END $$`);
    const report = await run();
    const top = report.findings.filter((f) => f.check === 'slow-queries.top');
    expect(top.length).toBeGreaterThan(0);
    expect(top.length).toBeLessThanOrEqual(10);
    expect(top[0]).toMatchObject({ severity: 'info', threshold: 100, details: expect.objectContaining({ query: 'SELECT pg_sleep($1)', calls: 1 }) });
    expect(top.some((f) => /token=\[redacted\]/.test(String(f.details?.query)))).toBe(true);
    expect(JSON.stringify(report)).not.toContain('abc123notreal');
    const share = report.findings.find((f) => f.check === 'slow-queries.share');
    expect(share?.value).toBeGreaterThan(0);
    expect(report.summary).toMatch(/slow queries [\d.]+ %/);
  });

  it('works when pg_stat_statements is not installed, and says so', async () => {
    await db.pool.query('DROP EXTENSION pg_stat_statements');
    const report = await run();
    expect(report.status).not.toBe('failed');
    expect(report.findings).toContainEqual(expect.objectContaining({ check: 'slow-queries.unavailable', severity: 'info' }));
    expect(report.summary).toMatch(/no pg_stat_statements/);
  });
});
