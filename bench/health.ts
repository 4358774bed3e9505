/**
 * `npm run bench -- health`: the full database-side health check on a database with about a
 * million integration-log rows and 300,000 change requests. Reports the median time and the
 * number of statements one check sends; the baseline is the obvious business query (a GROUP BY
 * over the time window, which scans the partitions) against the index-bound ones the job uses.
 */
import { healthCheck, runChecks, type HealthCheckParams } from '../src/jobs/health-check/index.js';
import { kosQuery, productChangeQuery, windowsFor } from '../src/jobs/health-check/business.js';
import { readCoreSettings } from '../src/shared/config.js';
import { createPool } from '../src/platform/db/connection.js';
import { loadSampleData } from '../src/platform/db/sample-data.js';
import { registerJob, type JobContext } from '../src/shared/job.js';
import { createLogger } from '../src/platform/log.js';
import { actionRecorder } from '../src/shared/actions.js';
import { serverSessions } from '../src/platform/db/session.js';
import { jobDatabase, runJob } from '../src/shared/runner/run-job.js';
import { benchDatabase, median, note, type BenchResult } from './support.js';

const RUNS = 25;
const GOAL_MS = 300;

async function timed(fn: () => Promise<unknown>, runs: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

/** The five checks with the highest median time, "name ms, …", to say where the time goes. */
function slowestSteps(runs: ReadonlyArray<Record<string, number>>): string {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r)))];
  return names
    .map((n) => [n, median(runs.map((r) => r[n] ?? 0))] as const)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([n, ms]) => `${n} ${ms}`)
    .join(', ');
}

export async function run({ args }: { json: boolean; args: string[] }): Promise<BenchResult> {
  const small = args.includes('--small');
  const tiny = args.includes('--tiny');
  const runs = tiny ? 3 : RUNS;
  note('starting PostgreSQL 14 and loading data …');
  const bench = await benchDatabase();
  try {
    const t0 = performance.now();
    const loaded = await loadSampleData(bench.pool, tiny ? { months: 2, logsPerMonth: 300, changeRequests: 1000 } : small ? { months: 3, logsPerMonth: 20_000, changeRequests: 30_000 } : { months: 15, logsPerMonth: 68_000, changeRequests: 300_000 });
    note(`loaded ${loaded.logRows} log rows and ${loaded.changeRequests} change requests in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

    const env = { DATABASE_URL: bench.url, DBOPS_ENVIRONMENT: 'bench' };
    const settings = readCoreSettings(env);
    const log = createLogger({ level: 'warn' });
    const target = { kind: 'url' as const, url: bench.url };
    // Its last sockets may still be closing when the server stops: that is not worth a warning here.
    const pool = createPool(target, { applicationName: 'dbops:health-check-bench', lockTimeoutMs: 2000, statementTimeoutMs: 120_000, max: 4 }, createLogger({ level: 'error' }));
    const ctx: JobContext = {
      job: 'health-check',
      runId: null,
      trigger: 'cli',
      dryRun: true,
      db: jobDatabase(pool, target),
      withServer: serverSessions({ job: 'health-check', settings, log }),
      settings,
      env,
      log,
      signal: new AbortController().signal,
      now: () => new Date(),
      act: actionRecorder([], true),
      services: {},
    };
    const params: HealthCheckParams = { mode: 'daily', windowHours: 24, schema: 'product_change' };
    let queries = 0;
    let steps: Array<Record<string, number>> = [];
    const check = async () => {
      const r = await runChecks(ctx, params, { includeOutside: false });
      queries = r.queries;
      steps.push(r.steps);
      const failed = r.findings.filter((f) => f.details?.['checkFailed']);
      if (failed.length) throw new Error(`a check failed: ${failed.map((f) => f.message).join('; ')}`);
    };
    await timed(check, 3); // warm the cache and the connections
    steps = [];
    const checkMs = await timed(check, runs);
    const checkSteps = slowestSteps(steps);

    // End to end through the runner: lock, record in ops.job_run, snapshot in ops.health_snapshot.
    const job = registerJob(healthCheck);
    const deps = { target, settings, env: { ...env, DBOPS_TPS_WARNING_BELOW: '0' }, log, services: {}, afterRun: [] };
    const endToEnd = await timed(() => runJob(job, { mode: 'probe' }, deps, { trigger: 'cli' }), tiny ? 2 : 10);

    // Business queries: the job's index-bound ones against the obvious GROUP BY over the window.
    const w = windowsFor(new Date(), 24);
    const pc = productChangeQuery('product_change', w);
    const kos = kosQuery('product_change', w);
    const ours = await timed(async () => {
      await bench.pool.query(pc.text, pc.values);
      await bench.pool.query(kos.text, kos.values);
    }, runs);
    const naive = await timed(async () => {
      await bench.pool.query(
        `SELECT process_status, count(*), avg(extract(epoch FROM processed_at - requested_at)) FROM product_change.pc_product_change_history
          WHERE requested_at >= $1 AND requested_at < $2 GROUP BY 1`,
        [w.previousFrom, w.to],
      );
      await bench.pool.query(
        'SELECT integration_type, is_success, count(*) FROM product_change.pc_kos_integration_log WHERE created_at >= $1 AND created_at < $2 GROUP BY 1, 2',
        [w.previousFrom, w.to],
      );
    }, runs);
    // The per-table checks (vacuum, wraparound, sequences, bloat, growth) on 2,000 more tables,
    // each with a serial key (a sequence and an index), some rows and dead tuples.
    note(`creating ${tiny ? 200 : 2000} tables …`);
    const tables = tiny ? 200 : 2000;
    await bench.pool.query('CREATE SCHEMA bench_many');
    // In batches of 100 per transaction, so the lock table has room.
    for (let from = 1; from <= tables; from += 100) {
      await bench.pool.query(`DO $$ BEGIN
        FOR i IN ${from}..${Math.min(tables, from + 99)} LOOP
          EXECUTE format('CREATE TABLE bench_many.t%s (id serial PRIMARY KEY, v int)', i);
          EXECUTE format('INSERT INTO bench_many.t%s (v) SELECT g FROM generate_series(1, 20) g', i);
          EXECUTE format('DELETE FROM bench_many.t%s WHERE v %% 2 = 0', i);
        END LOOP; END $$`);
    }
    await bench.pool.query('ANALYZE');
    await timed(check, 2);
    steps = [];
    const manyMs = await timed(check, tiny ? 3 : 10);
    const manySteps = slowestSteps(steps);
    await pool.end();

    const medianMs = Math.round(median(checkMs) * 10) / 10;
    const ratio = median(naive) / median(ours);
    return {
      name: 'health',
      title: `health-check, database side, on ${loaded.logRows.toLocaleString('en')} log rows and ${loaded.changeRequests.toLocaleString('en')} change requests (${runs} runs)`,
      table: [
        ['full DB-side check, median', `${medianMs} ms`],
        ['statements per check', String(queries)],
        [`full DB-side check with ${tables} more tables, median`, `${Math.round(median(manyMs) * 10) / 10} ms`],
        ['slowest checks, median ms (1 M rows)', checkSteps],
        [`slowest checks, median ms (${tables} more tables)`, manySteps],
        ['whole job through the runner (probe), median', `${Math.round(median(endToEnd))} ms`],
        ['business queries (index-bound), median', `${median(ours).toFixed(1)} ms`],
        ['business queries (GROUP BY over the window), median', `${median(naive).toFixed(1)} ms`],
      ],
      ratio,
      goal: `median under ${GOAL_MS} ms`,
      goalMet: medianMs < GOAL_MS,
      medianMs,
      queries,
      manyTablesMedianMs: Math.round(median(manyMs) * 10) / 10,
      endToEndMedianMs: Math.round(median(endToEnd)),
      logRows: loaded.logRows,
      changeRequests: loaded.changeRequests,
    };
  } finally {
    await bench.stop();
  }
}
