/**
 * partition-maintenance against the naive way to apply the same 12-month retention: a batched
 * DELETE ... WHERE created_at < cutoff followed by VACUUM. Same data for both (one loaded
 * database cloned twice), with the service's insert workload running throughout, measured idle,
 * during the job and during the DELETE path.
 *
 *   npm run bench -- partitions [--json] [--rows-per-month 80000] [--tiny]
 */
import pg from 'pg';
import { partitionMaintenance } from '../src/jobs/partition-maintenance/index.js';
import { readCoreSettings } from '../src/shared/config.js';
import { ident } from '../src/platform/db/sql.js';
import { monthStart } from '../src/platform/db/partitions.js';
import { loadSampleData } from '../src/platform/db/sample-data.js';
import { registerJob } from '../src/shared/job.js';
import { createLogger } from '../src/platform/log.js';
import { runJob } from '../src/shared/runner/run-job.js';
import { clock, closeLoads, warmLoads, spawnLoad, within, type Sample } from './lib/workload.js';
import { benchDatabase, note, percentile, type BenchResult } from './support.js';

const LOG = 'product_change.pc_kos_integration_log';
const MONTHS = 15;
const INSERTERS = 4;
const DELETE_BATCH = 5000;

/** Denser than the plan's 100/s (4 clients, 40 ms apart), so a job of ~100 ms still gets a p99 worth reading. */
const LOAD = { clients: INSERTERS, pauseMs: 4 };

/**
 * Where the job's server time goes, from pg_stat_statements: each class of statement the job
 * sends, by its text. What the job's wall time has beyond these is outside the server's
 * executor: logins, round trips, commits and the job's own JavaScript.
 */
const SERVER_TIME_CLASSES = {
  ddl: `query LIKE 'ALTER TABLE %DETACH PARTITION%' OR query LIKE 'DROP TABLE %'`,
  runRecord: `query LIKE '%pg_try_advisory_lock%' OR query LIKE '%UPDATE ops.job_run%'`,
  catalog: `query LIKE '%pg_get_partkeydef%' OR query LIKE '%pg_total_relation_size%' OR query LIKE 'SELECT id, operation, partition_schema%'`,
  blockerChecks: `query LIKE '%pg_blocking_pids%' OR query LIKE '%FROM pg_locks%'`,
  operationRecords: `query LIKE 'INSERT INTO ops.partition_operation%' OR query LIKE 'UPDATE ops.partition_operation%'`,
} as const;
type ServerTime = Record<keyof typeof SERVER_TIME_CLASSES | 'planning', number>;
const SERVER_TIME_KEYS = [...Object.keys(SERVER_TIME_CLASSES), 'planning'] as Array<keyof ServerTime>;

async function serverTime(url: string): Promise<ServerTime> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const classes = Object.entries(SERVER_TIME_CLASSES);
    const { rows } = await c.query<Record<string, number | null>>(
      `SELECT ${classes.map(([k, where]) => `coalesce(sum(total_exec_time) FILTER (WHERE ${where}), 0)::float8 AS "${k}"`).join(', ')},
              coalesce(sum(total_plan_time) FILTER (WHERE ${classes.map(([, where]) => `(${where})`).join(' OR ')}), 0)::float8 AS planning
         FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    return Object.fromEntries(SERVER_TIME_KEYS.map((k) => [k, rows[0]?.[k] ?? NaN])) as ServerTime;
  } finally {
    await c.end();
  }
}

const minus = (a: ServerTime, b: ServerTime): ServerTime =>
  Object.fromEntries(SERVER_TIME_KEYS.map((k) => [k, a[k] - b[k]])) as ServerTime;

/** What the job's two logins cost on this server: two sessions opened side by side, as the runner does (median of 5). */
async function loginMs(url: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const clients = [new pg.Client({ connectionString: url }), new pg.Client({ connectionString: url })];
    const t = performance.now();
    await Promise.all(clients.map((c) => c.connect()));
    times.push(performance.now() - t);
    await Promise.all(clients.map((c) => c.end()));
  }
  return percentile(times, 50);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

export async function run({ args }: { json: boolean; args: string[] }): Promise<BenchResult> {
  const flag = args.indexOf('--rows-per-month');
  const perMonth = flag >= 0 ? Number(args[flag + 1]) : args.includes('--tiny') ? 300 : 80_000;
  warmLoads();
  const bench = await benchDatabase({ shared_buffers: '256MB', max_wal_size: '2GB', checkpoint_timeout: '30min', 'pg_stat_statements.track_planning': 'on' }).catch(async (err: unknown) => {
    await closeLoads();
    throw err;
  });
  try {
    note(`loading ${MONTHS} months × ${perMonth} integration-log rows…`);
    const t0 = performance.now();
    const loaded = await loadSampleData(bench.pool, { months: MONTHS, logsPerMonth: perMonth, changeRequests: 1000 });
    note(`loaded ${loaded.logRows} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s; cloning the database for each path…`);
    await bench.pool.query('CHECKPOINT');
    await bench.pool.end();
    const admin = new pg.Client({ connectionString: bench.server.url() });
    await admin.connect();
    for (const clone of ['pm_job', 'pm_delete']) await admin.query(`CREATE DATABASE ${ident(clone)} TEMPLATE product_change_db`);
    await admin.end();
    const jobUrl = bench.server.url('pm_job');
    const deleteUrl = bench.server.url('pm_delete');
    const cutoff = monthStart(new Date(), -12);

    // Idle: the same workload with nothing else running.
    // The inserts run in a child process, so the job's own JavaScript does not delay their timing.
    const all: Sample[] = [];
    const idle = await spawnLoad('inserts', jobUrl, LOAD);
    await sleep(500);
    const idleFrom = clock();
    await sleep(4000);
    const idleTo = clock();
    const idleRun = await idle.stop();
    all.push(...idleRun.samples);
    const idleMs = within(idleRun.samples, idleFrom, idleTo).map((x) => x.ms);

    // This job.
    const jobLoad = await spawnLoad('inserts', jobUrl, LOAD);
    await sleep(500);
    const env = { DATABASE_URL: jobUrl, DBOPS_ENVIRONMENT: 'bench' };
    const logins = await loginMs(jobUrl);
    const serverBefore = await serverTime(jobUrl);
    const jobStart = performance.now();
    const jobFrom = clock();
    const report = await runJob(
      registerJob(partitionMaintenance),
      {},
      { target: { kind: 'url', url: jobUrl }, settings: readCoreSettings(env), env, log: createLogger({ level: 'warn' }), services: {}, afterRun: [] },
      { trigger: 'cli' },
    );
    const jobEnd = performance.now();
    const jobTo = clock();
    const server = minus(await serverTime(jobUrl), serverBefore);
    const ddlMs = server.ddl;
    const ddlActions = report.actions.filter((a) => /DETACH PARTITION|DROP TABLE/.test(a.statement ?? ''));
    const stepMs = Object.values(report.timings.steps).reduce((n, v) => n + v, 0);
    await sleep(300);
    const jobRun = await jobLoad.stop();
    all.push(...jobRun.samples);
    const jobInserts = within(jobRun.samples, jobFrom, jobTo).map((x) => x.ms);
    if (report.status !== 'ok') throw new Error(`the job did not finish cleanly: ${report.status}: ${report.summary}`);
    const dropped = (report.data as { tables: Array<{ dropped: Array<{ estimatedRows?: number }> }> }).tables[0]!.dropped;
    const jobRemoved = dropped.reduce((n, d) => n + (d.estimatedRows ?? 0), 0);

    // The naive path on the clone.
    const del = new pg.Client({ connectionString: deleteUrl, options: '-c TimeZone=UTC' });
    await del.connect();
    const deleteLoad = await spawnLoad('inserts', deleteUrl, LOAD);
    await sleep(500);
    const deleteStart = performance.now();
    const deleteFrom = clock();
    let deleted = 0;
    for (;;) {
      const r = await del.query(
        `DELETE FROM ${LOG} WHERE (id, created_at) IN (SELECT id, created_at FROM ${LOG} WHERE created_at < $1 LIMIT ${DELETE_BATCH})`,
        [cutoff],
      );
      deleted += r.rowCount ?? 0;
      if ((r.rowCount ?? 0) < DELETE_BATCH) break;
    }
    const deleteOnlyMs = performance.now() - deleteStart;
    await del.query(`VACUUM ${LOG}`);
    const deleteEnd = performance.now();
    const deleteTo = clock();
    await sleep(300);
    const deleteRun = await deleteLoad.stop();
    all.push(...deleteRun.samples);
    const deleteInserts = within(deleteRun.samples, deleteFrom, deleteTo).map((x) => x.ms);
    await del.end();

    const jobWall = jobEnd - jobStart;
    const deleteWall = deleteEnd - deleteStart;
    const ratio = deleteWall / jobWall;
    const p = (xs: number[], q: number) => percentile(xs, q);
    const idleP99 = p(idleMs, 99);
    const jobP99 = p(jobInserts, 99);
    const failures = all.filter((x) => x.failed).length;
    const ddlRatio = jobWall / ddlMs;
    const serverMs = Object.values(server).reduce((n, v) => n + v, 0);
    const goalMet = ratio >= 50 && ddlRatio <= 2 && jobP99 <= 2 * idleP99 && failures === 0;
    return {
      name: 'partitions',
      title: `Retention on ${loaded.logRows.toLocaleString('en-US')} rows in ${MONTHS} monthly partitions: partition-maintenance vs batched DELETE + VACUUM`,
      table: [
        ['rows removed (job: planner estimate / DELETE)', `${jobRemoved}`, `${deleted}`],
        ['partition-maintenance wall time', fmt(jobWall), `(runner ${fmt(jobWall - stepMs)}, table ${fmt(stepMs)})`],
        [`its ${ddlActions.length} DDL statements' own time (server)`, fmt(ddlMs), `job / DDL ${ddlRatio.toFixed(1)}×`, `table step / DDL ${(stepMs / ddlMs).toFixed(1)}×`, `job without logins / DDL ${((jobWall - logins) / ddlMs).toFixed(1)}×`],
        ['the job\'s other statements (server)', `run record ${fmt(server.runRecord)}`, `catalog reads ${fmt(server.catalog)}`, `blocker checks ${fmt(server.blockerChecks)}`, `operation records ${fmt(server.operationRecords)}`, `planning (all of them) ${fmt(server.planning)}`],
        ['outside the server', fmt(jobWall - serverMs), `of which two logins side by side ${fmt(logins)} (measured alone); the rest round trips, commits, JavaScript`],
        ['batched DELETE + VACUUM wall time', fmt(deleteWall), `(DELETE ${fmt(deleteOnlyMs)}, VACUUM ${fmt(deleteWall - deleteOnlyMs)})`],
        ['job lock wait (reported)', fmt((report.data as { lockWaitMs: number }).lockWaitMs)],
        ['insert p50 / p99 idle', fmt(p(idleMs, 50)), fmt(idleP99), `n=${idleMs.length}`],
        ['insert p50 / p99 during partition-maintenance', fmt(p(jobInserts, 50)), fmt(jobP99), `n=${jobInserts.length}`],
        ['insert p50 / p99 during DELETE + VACUUM', fmt(p(deleteInserts, 50)), fmt(p(deleteInserts, 99)), `n=${deleteInserts.length}`],
        ['failed inserts (all phases)', `${failures}`],
      ],
      ratio,
      goal: '≥ 50× faster than DELETE + VACUUM, the job within 2× of its DDL statements\' own time, insert p99 during maintenance ≤ 2× idle, no failed insert',
      goalMet,
      rows: loaded.logRows,
      removed: { job: jobRemoved, delete: deleted },
      wallMs: { job: jobWall, jobTableStep: stepMs, ddl: ddlMs, delete: deleteWall, deleteOnly: deleteOnlyMs, logins },
      serverMs: server,
      ddlRatio,
      insertMs: {
        idle: { p50: p(idleMs, 50), p99: idleP99, n: idleMs.length },
        job: { p50: p(jobInserts, 50), p99: jobP99, n: jobInserts.length },
        delete: { p50: p(deleteInserts, 50), p99: p(deleteInserts, 99), n: deleteInserts.length },
      },
      failures,
    };
  } finally {
    // The pool was ended before cloning (CREATE DATABASE ... TEMPLATE needs the source idle).
    await closeLoads();
    await bench.pool.end().catch(() => undefined);
    await bench.server.stop().catch(() => undefined);
  }
}
