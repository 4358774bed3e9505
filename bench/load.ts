/**
 * `npm run bench -- load [--json] [--quick] [--baseline-s 60]`: what the Product-Change service
 * feels while dbops works. The service's traffic (integration-log and change-request inserts,
 * status updates, the plan's index-bound reads) runs against the embedded server with the demo's
 * data: a baseline minute (10 s with --quick), then while each database job runs once, one after
 * the other. Reports the service's query p50/p99 and throughput before and during each job.
 * Goal: the p99 during any job at most 1.5× the baseline, and no failed query. With --rounds=N
 * (default 20) the sequence repeats, so a short job's window still gets 200 samples or more; before
 * each round after the first the two oldest months are loaded again, so partition-maintenance
 * drops partitions every time.
 */
import { setPriority } from 'node:os';
import { jobs } from '../src/jobs/index.js';
import { monthlyPartitionName, monthStart } from '../src/platform/db/partitions.js';
import { loadSampleData } from '../src/platform/db/sample-data.js';
import { qualified } from '../src/platform/db/sql.js';
import { PLAN_SCHEMA, PLAN_TABLES } from '../src/shared/plan.js';
import { createLogger } from '../src/platform/log.js';
import { runJob } from '../src/shared/runner/run-job.js';
import { buildRuntime, providers } from '../src/runtime.js';
import { clock, closeLoads, warmLoads, fmtMs, latency, sleep, spawnLoad, within, type Latency, type ServiceSample } from './lib/workload.js';
import { benchDatabase, median, note, type BenchResult } from './support.js';

/** Each database job once, in the demo's order; partition-maintenance for real (it drops two partitions). */
const RUNS: Array<{ label: string; job: string; params: Record<string, unknown> }> = [
  { label: 'install-verification', job: 'install-verification', params: {} },
  { label: 'health-check (full)', job: 'health-check', params: { mode: 'daily' } },
  { label: 'health-check (probe)', job: 'health-check', params: { mode: 'probe' } },
  { label: 'security-audit', job: 'security-audit', params: {} },
  { label: 'stats-refresh', job: 'stats-refresh', params: {} },
  { label: 'partition-maintenance', job: 'partition-maintenance', params: {} },
];
const LOAD = { clients: 4, pauseMs: 15 };

interface Window extends Latency {
  throughput: number;
  /** The slowest query of the window: which of the service's queries, and how long. */
  slowest: { op: string; ms: number } | null;
}

function window(samples: ServiceSample[], ms: number): Window {
  const slowest = samples.reduce<ServiceSample | null>((a, b) => (a && a.ms >= b.ms ? a : b), null);
  return { ...latency(samples), throughput: samples.length / (ms / 1000), slowest: slowest ? { op: slowest.op, ms: slowest.ms } : null };
}

export async function run({ args }: { json: boolean; args: string[] }): Promise<BenchResult> {
  const quick = args.includes('--quick');
  const tiny = args.includes('--tiny');
  const eq = args.find((a) => a.startsWith('--baseline-s='));
  const baselineMs = (eq ? Number(eq.slice(13)) : tiny ? 2 : quick ? 10 : 60) * 1000;
  const rounds = Number(args.find((a) => a.startsWith('--rounds='))?.slice(9) ?? (tiny ? 1 : 20));
  const perMonth = tiny ? 300 : 40_000;
  warmLoads();
  const bench = await benchDatabase({ shared_buffers: '256MB' }).catch(async (err: unknown) => {
    await closeLoads();
    throw err;
  });
  try {
    note(tiny ? 'loading a tiny data set…' : 'loading the demo data…');
    const t0 = performance.now();
    const data = await loadSampleData(bench.pool, tiny ? { logsPerMonth: perMonth, changeRequests: 2000 } : { logsPerMonth: perMonth });
    note(`loaded ${data.logRows} log rows and ${data.changeRequests} change requests in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    const env = { ...process.env, DATABASE_URL: bench.url, DBOPS_PG_AUTH: 'url', DBOPS_ENVIRONMENT: 'bench' };
    const deps = buildRuntime(providers, { env, log: createLogger({ level: 'error' }) });

    // The service runs in a child process: the jobs' own JavaScript must not delay its timing.
    const load = await spawnLoad('service', bench.url, LOAD);
    // On Azure the jobs' JavaScript runs on the Function App, not on the database server; here it
    // shares the server's two cores. This process (the jobs, not the server or the service's
    // clients, both started before) takes the lowest CPU priority, so the service feels a job's
    // database sessions, which the server forks at normal priority, rather than Node's work.
    setPriority(19);
    let stopped: { samples: ServiceSample[]; errors: string[] } | null = null;
    try {
      await sleep(1000);
      note(`baseline: ${baselineMs / 1000} s of service load…`);
      const from = clock();
      await sleep(baselineMs);
      const baselineTo = clock();
      const runs = RUNS.map((r) => ({ ...r, statuses: [] as string[], ms: [] as number[], windows: [] as Array<[number, number]> }));
      for (let round = 0; round < rounds; round++) {
        if (round > 0) await expireAgain(bench.pool, perMonth);
        for (const r of runs) {
          const job = jobs.find((j) => j.name === r.job);
          if (!job) throw new Error(`no job ${r.job}`);
          await sleep(700);
          const start = clock();
          const report = await runJob(job, r.params, deps, { trigger: 'cli' });
          const end = clock();
          r.statuses.push(report.status);
          r.ms.push(end - start);
          r.windows.push([start, end]);
          const raised = [...new Set(report.findings.filter((f) => f.severity !== 'info').map((f) => f.check))];
          note(`  round ${round + 1}, ${r.label}: ${report.status} in ${fmtMs(end - start)}${r.job === 'partition-maintenance' ? ` (${String((report.data as { dropped?: number }).dropped ?? 0)} dropped)` : ''}${raised.length ? ` [${raised.join(', ')}]` : ''}`);
        }
      }
      stopped = await load.stop();
      const all = stopped.samples;
      const baseline = window(within(all, from, baselineTo), baselineTo - from);
      const during = runs.map((r) => {
        const w = window(r.windows.flatMap(([a, b]) => within(all, a, b)), r.ms.reduce((a, b) => a + b, 0));
        return { label: r.label, statuses: [...new Set(r.statuses)].join('/'), jobMs: median(r.ms), runs: r.ms.length, load: w, ratio: w.p99 / baseline.p99 };
      });
      const failed = all.filter((s) => s.failed).length;
      const errors = stopped.errors;
      const worst = Math.max(...during.map((d) => d.ratio));
      const row = (label: string, w: Window, extra: string[]) => [label, `${fmtMs(w.p50)} / ${fmtMs(w.p99)}`, `${w.throughput.toFixed(0)} q/s`, `n=${w.n}`, ...extra];
      return {
        name: 'load',
        title: `Service load (${LOAD.clients} clients: inserts into both tables, status updates, index-bound reads) on ${data.logRows.toLocaleString('en')} log rows and ${data.changeRequests.toLocaleString('en')} change requests, while each database job runs once per round (${rounds} round(s))`,
        table: [
          ['window', 'query p50 / p99', 'throughput', 'samples', 'job', 'p99 ratio', 'slowest query'],
          row(`baseline (${baselineMs / 1000} s, no job)`, baseline, []),
          ...during.map((d) => row(`during ${d.label}`, d.load, [`${d.statuses}, ${fmtMs(d.jobMs)}${d.runs > 1 ? ` (median of ${d.runs})` : ''}`, `${d.ratio.toFixed(2)}×`, d.load.slowest ? `${d.load.slowest.op} ${fmtMs(d.load.slowest.ms)}` : '—'])),
          ['failed queries (whole run)', `${failed}`, ...errors.slice(0, 3)],
        ],
        ratio: worst,
        ratioLabel: 'worst p99 during a job / baseline p99',
        goal: 'service p99 during every job at most 1.5× the baseline, no failed query',
        goalMet: worst <= 1.5 && failed === 0,
        baseline,
        during,
        failed,
        errors,
        logRows: data.logRows,
        changeRequests: data.changeRequests,
      };
    } finally {
      if (!stopped) await load.stop().catch(() => undefined);
    }
  } finally {
    await closeLoads();
    await bench.stop();
  }
}

/** Loads the two months past the 12-month retention again, as the sample data has them. */
async function expireAgain(db: { query(text: string, values?: unknown[]): Promise<unknown> }, perMonth: number): Promise<void> {
  const log = qualified(PLAN_SCHEMA, PLAN_TABLES.kosLog);
  for (const i of [-14, -13]) {
    const from = monthStart(new Date(), i);
    const to = monthStart(new Date(), i + 1);
    await db.query(`CREATE TABLE IF NOT EXISTS ${qualified(PLAN_SCHEMA, monthlyPartitionName(PLAN_TABLES.kosLog, from))} PARTITION OF ${log} FOR VALUES FROM ('${from.toISOString()}') TO ('${to.toISOString()}')`);
    await db.query(
      `INSERT INTO ${log} (request_id, integration_type, is_success, response_time_ms, created_at)
       SELECT 'REQ-OLD-' || g, 'PRODUCT_CHANGE', true, 120, $1::timestamptz + random() * ($2::timestamptz - $1::timestamptz)
         FROM generate_series(1, $3::int) g`,
      [from.toISOString(), to.toISOString(), perMonth],
    );
  }
}
