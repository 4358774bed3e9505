import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthCheck } from '../../src/jobs/health-check/index.js';
import { registerJob, type Finding, type JobReport } from '../../src/shared/job.js';
import { runJob } from '../../src/shared/runner/run-job.js';
import type { Env } from '../../src/platform/settings.js';
import { createTestDatabase, statsSettle, testDeps, type TestDatabase } from '../support/db.js';

const job = registerJob(healthCheck);
const quiet: Env = { DBOPS_TPS_WARNING_BELOW: '0' };

/** Dead tuples, bloat, freezing and sequences produced for real on the test server. */
describe('health-check: vacuum, bloat, wraparound and sequences on real tables', () => {
  let db: TestDatabase;
  const run = (env: Env = {}) => runJob(job, {}, testDeps(db, { env: { ...quiet, ...env } }), { trigger: 'test' });
  const all = (r: JobReport, check: string): Finding[] => r.findings.filter((f) => f.check === check);

  beforeAll(async () => {
    db = await createTestDatabase({ prefix: 'dbops_vacuum' });
    // autovacuum off on this table only, then most of its rows deleted and updated.
    await db.pool.query('CREATE TABLE public.churn (id int PRIMARY KEY, n int) WITH (autovacuum_enabled = false)');
    await db.pool.query('INSERT INTO public.churn SELECT g, 0 FROM generate_series(1, 50000) g');
    await db.pool.query('ANALYZE public.churn');
    await db.pool.query('DELETE FROM public.churn WHERE id % 10 <> 0');
    await db.pool.query('UPDATE public.churn SET n = 1');
    // The statistics collector publishes with a delay: wait until it has counted the dead rows.
    for (let i = 0; i < 100; i++) {
      const { rows } = await db.pool.query<{ dead: string }>(`SELECT n_dead_tup AS dead FROM pg_stat_user_tables WHERE relname = 'churn'`);
      if (Number(rows[0]?.dead) >= 40000) break;
      await statsSettle();
    }
  });
  afterAll(async () => {
    await db.drop();
  });

  it('finds the dead tuples of a table autovacuum is off for, says autovacuum cannot reach it, and how to fix it', async () => {
    const report = await run({ DBOPS_VACUUM_DEAD_TUPLES_MIN: '1000' });
    const dead = all(report, 'vacuum.dead-tuples').find((f) => f.target === 'public.churn');
    expect(dead).toMatchObject({ severity: 'warning', message: expect.stringMatching(/% dead tuples .*autovacuum is off for it/), remedy: 'VACUUM (VERBOSE, ANALYZE) "public"."churn"; ALTER TABLE "public"."churn" RESET (autovacuum_enabled)' });
    expect(all(report, 'vacuum.behind').find((f) => f.target === 'public.churn')).toMatchObject({ severity: 'warning', message: expect.stringMatching(/past its autovacuum trigger/) });
    expect(report.findings.filter((f) => f.details?.['checkFailed'])).toEqual([]);
  });

  it('estimates the bloat a vacuum leaves in its index, and measures it with pgstattuple', async () => {
    await db.pool.query('VACUUM public.churn');
    await db.pool.query('ANALYZE public.churn');
    const env = { DBOPS_INDEX_BLOAT_WARNING_BYTES: '100000', DBOPS_INDEX_BLOAT_WARNING_PERCENT: '50' };
    const estimated = all(await run(env), 'index-bloat').find((f) => f.target === 'public.churn_pkey');
    expect(estimated).toMatchObject({ severity: 'warning', message: expect.stringMatching(/estimated from statistics/), remedy: 'REINDEX INDEX CONCURRENTLY "public"."churn_pkey"' });
    const missing = all(await run({ ...env, DBOPS_INDEX_BLOAT_MODE: 'pgstattuple' }), 'index-bloat');
    expect(missing[0]).toMatchObject({ severity: 'info', message: expect.stringMatching(/extension is not installed/) });
    await db.pool.query('CREATE EXTENSION pgstattuple');
    const measured = all(await run({ ...env, DBOPS_INDEX_BLOAT_MODE: 'pgstattuple' }), 'index-bloat').find((f) => f.target === 'public.churn_pkey');
    expect(measured).toMatchObject({ severity: 'warning', message: expect.stringMatching(/measured with pgstattuple/) });
  });

  it('reports XID and multixact age apart, per database and per table including TOAST', async () => {
    await db.pool.query(`CREATE TABLE public.wide (id int, body text)`);
    await db.pool.query(`INSERT INTO public.wide VALUES (1, repeat('y', 10000))`);
    // A warning threshold of 0 % of autovacuum_freeze_max_age makes every table's age visible.
    const report = await run({ DBOPS_FREEZE_AGE_WARNING_PERCENT: '0' });
    expect(all(report, 'wraparound').find((f) => f.target === db.name)).toMatchObject({ message: expect.stringMatching(/billion transaction IDs left .*% of autovacuum_freeze_max_age/) });
    expect(all(report, 'wraparound.multixact').length).toBeGreaterThan(0);
    expect(all(report, 'wraparound.table').length).toBeGreaterThan(0);
    const quietReport = await run();
    expect(quietReport.findings.filter((f) => f.check.startsWith('wraparound') && f.severity !== 'info')).toEqual([]);
    expect(quietReport.data['metrics']).toMatchObject({ 'wraparound.xid-remaining': expect.any(Number), 'wraparound.multixact-remaining': expect.any(Number) });
  });

  it('measures a bigint sequence against the integer column it feeds, and counts never-used ones', async () => {
    await db.pool.query('CREATE SEQUENCE public.narrow_seq AS bigint');
    await db.pool.query(`CREATE TABLE public.narrow (id integer DEFAULT nextval('public.narrow_seq') PRIMARY KEY)`);
    await db.pool.query('ALTER SEQUENCE public.narrow_seq OWNED BY public.narrow.id');
    await db.pool.query(`SELECT setval('public.narrow_seq', 2000000000)`);
    await db.pool.query('CREATE SEQUENCE public.unused_seq');
    const report = await run();
    const f = all(report, 'sequences.near-max').find((x) => x.target === 'public.narrow_seq');
    expect(f).toMatchObject({ severity: 'warning', message: expect.stringMatching(/feeding public\.narrow\.id \(integer\) has used 93\.\d+ % .*integer column’s limit 2147483647/) });
    expect((report.data['metrics'] as Record<string, number>)['sequences.never-used']).toBeGreaterThanOrEqual(1);
  });
});
