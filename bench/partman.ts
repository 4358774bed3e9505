/**
 * `npm run bench -- partman [--json] [--rows-per-month 75000] [--hold-ms 10000] [--tiny] [--no-install]`:
 * dbops partition-maintenance against pg_partman 4.7 (what Azure Database for PostgreSQL offers)
 * on one Debian PostgreSQL 15 server (installed through apt-get when missing), on identical
 * copies of the project's pc_kos_integration_log: 15 monthly partitions, retention 12 months,
 * so each tool's retention pass drops the two oldest. Each tool runs in three situations, each
 * on its own fresh copy: idle; under the service's insert load; and under that load while a
 * reporting query keeps a transaction open on the parent (10 s) — where a queued ACCESS
 * EXCLUSIVE lock stalls every insert behind it.
 */
import pg from 'pg';
import { partitionMaintenance } from '../src/jobs/partition-maintenance/index.js';
import { partitionSettings } from '../src/jobs/partition-maintenance/settings.js';
import { readCoreSettings } from '../src/shared/config.js';
import { listPartitions, monthStart } from '../src/platform/db/partitions.js';
import { migrate } from '../src/platform/db/migrate.js';
import { loadSampleData } from '../src/platform/db/sample-data.js';
import { registerJob } from '../src/shared/job.js';
import { createLogger } from '../src/platform/log.js';
import { PLAN_SCHEMA, PLAN_TABLES } from '../src/shared/plan.js';
import { runJob } from '../src/shared/runner/run-job.js';
import { readSettings } from '../src/platform/settings.js';
import { ensurePartman, partmanVersion, startPg15, Unavailable, type Pg15Server } from './lib/debian-postgres.js';
import { clock, closeLoads, warmLoads, fmtMs, KOS_LOG, latency, sleep, spawnLoad, within, type Latency, type RemoteLoad, type Sample } from './lib/workload.js';
import { note, type BenchResult } from './support.js';

const MONTHS = 15;
const TOOLS = ['pg_partman', 'dbops'] as const;
const SITUATIONS = ['idle', 'load', 'longTransaction'] as const;
type Tool = (typeof TOOLS)[number];
type Situation = (typeof SITUATIONS)[number];
const APP: Record<Tool, string> = { pg_partman: 'pg_partman-maintenance', dbops: 'dbops:partition-maintenance' };
/** 4 clients, 4 ms apart: several hundred inserts a second, so even a short pass gets samples to rank. */
const LOAD = { clients: 4, pauseMs: 4 };

interface Pass {
  wallMs: number;
  inserts: Latency | null;
  /** Lock modes each DDL command held on the parent when it finished (event trigger). */
  locks: Array<{ command: string; mode: string; count: number }>;
  /** Longest the maintenance session was seen waiting for a lock on the parent (pg_locks, sampled). */
  maxLockWaitMs: number;
  dropped: number;
  retentionCompleted: boolean;
  detail: string;
}

/** Records, at the end of every DDL command, the locks its session holds on the parent. */
const LOCK_RECORDER = `
  CREATE TABLE public.bench_ddl_lock (pid int, app text, command text, mode text);
  CREATE FUNCTION public.bench_record_locks() RETURNS event_trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO public.bench_ddl_lock
    SELECT pg_backend_pid(), current_setting('application_name'), tg_tag, l.mode
      FROM pg_locks l
     WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted
       AND l.relation = to_regclass('${KOS_LOG}');
  END $$;
  CREATE EVENT TRIGGER bench_record_locks ON ddl_command_end EXECUTE FUNCTION public.bench_record_locks();`;

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const eq = args.find((a) => a.startsWith(`${name}=`));
  const v = eq ? Number(eq.slice(name.length + 1)) : i >= 0 ? Number(args[i + 1]) : fallback;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

export async function run({ args }: { json: boolean; args: string[] }): Promise<BenchResult> {
  const tiny = args.includes('--tiny');
  const perMonth = flag(args, '--rows-per-month', tiny ? 200 : 75_000);
  const holdMs = flag(args, '--hold-ms', tiny ? 1000 : 10_000);
  const baselineMs = tiny ? 300 : 3000;
  const SITUATION_LABEL: Record<Situation, string> = { idle: 'idle', load: 'insert load', longTransaction: `load + ${holdMs / 1000} s transaction` };
  try {
    await ensurePartman(note, { install: !args.includes('--no-install') });
  } catch (err) {
    if (!(err instanceof Unavailable)) throw err;
    note(`partman benchmark not run: ${err.message}`);
    return {
      name: 'partman',
      title: 'dbops partition-maintenance vs pg_partman: not run',
      table: [['pg_partman unavailable', err.message]],
      skipped: err.message,
      goalMet: false,
    };
  }
  warmLoads();
  note(`starting Debian PostgreSQL 15 with pg_partman ${partmanVersion()}…`);
  const server = await startPg15({ shared_buffers: '256MB', max_wal_size: '2GB', checkpoint_timeout: '30min', autovacuum: 'off' }).catch(async (err: unknown) => {
    await closeLoads();
    throw err;
  });
  try {
    const loaded = await prepare(server, perMonth, tiny ? 'WAL_LOG' : 'FILE_COPY');
    const lockTimeoutMs = readSettings(partitionSettings, {}).lockTimeoutMs;
    const passes = {} as Record<Tool, Record<Situation, Pass>>;
    const baselines = {} as Record<Tool, Latency>;
    for (const tool of TOOLS) {
      passes[tool] = {} as Record<Situation, Pass>;
      for (const situation of SITUATIONS) {
        note(`${tool}, ${SITUATION_LABEL[situation]}…`);
        const { pass, baseline } = await measure(server, tool, situation, { holdMs, baselineMs, warmMs: tiny ? 200 : 500 });
        passes[tool][situation] = pass;
        if (baseline && situation === 'load') baselines[tool] = baseline;
        note(`  ${fmtMs(pass.wallMs)}, ${pass.detail}`);
      }
    }

    const long = { partman: passes.pg_partman.longTransaction.inserts!, dbops: passes.dbops.longTransaction.inserts! };
    const ratio = long.partman.p99 / long.dbops.p99;
    const idleP99 = baselines.dbops.p99;
    const goalMet = long.dbops.max <= lockTimeoutMs && long.dbops.p99 <= 2 * idleP99;
    const lockText = (p: Pass) => (p.locks.length ? p.locks.map((l) => `${l.mode.replace(/Lock$/, '')} ×${l.count} (${l.command})`).join(', ') : 'none held at DDL end');
    const table: string[][] = [['tool / situation', 'wall', 'insert p50 / p99 / max (n)', 'failed or >1 s', 'locks on the parent (max wait)', 'retention']];
    for (const tool of TOOLS) {
      const b = baselines[tool];
      table.push([`${tool}: inserts, no maintenance`, '', `${fmtMs(b.p50)} / ${fmtMs(b.p99)} / ${fmtMs(b.max)} (${b.n})`, `${b.failedOrOver1s}`, '', '']);
      for (const situation of SITUATIONS) {
        const p = passes[tool][situation];
        const i = p.inserts;
        table.push([
          `${tool}: ${SITUATION_LABEL[situation]}`,
          fmtMs(p.wallMs),
          i ? `${fmtMs(i.p50)} / ${fmtMs(i.p99)} / ${fmtMs(i.max)} (${i.n})` : '— (no load)',
          i ? `${i.failedOrOver1s}` : '—',
          `${lockText(p)} (${fmtMs(p.maxLockWaitMs)})`,
          p.retentionCompleted ? `done, ${p.dropped} dropped` : `NOT done (${p.detail})`,
        ]);
      }
    }
    return {
      name: 'partman',
      title: `Retention of ${loaded.toLocaleString('en-US')} rows in ${MONTHS} monthly partitions of ${KOS_LOG} on PostgreSQL 15: pg_partman ${partmanVersion()} run_maintenance() vs dbops partition-maintenance; ${LOAD.clients} inserting clients, ${holdMs / 1000} s reporting transaction`,
      table,
      ratio,
      goal: `in the long-transaction case no dbops insert waits longer than its lock_timeout (${lockTimeoutMs} ms) and the dbops insert p99 is at most 2× the p99 with no maintenance; ratio = pg_partman p99 / dbops p99 there`,
      goalMet,
      rows: loaded,
      pgPartman: partmanVersion(),
      lockTimeoutMs,
      holdMs,
      baselines,
      passes,
      ratioLabel: 'pg_partman insert p99 / dbops insert p99, long transaction',
    };
  } finally {
    await closeLoads();
    await server.stop();
  }
}

/** One loaded template database, then a fresh copy for each tool and situation. */
/** FILE_COPY for real sizes (WAL_LOG would write every copy to WAL); WAL_LOG skips its checkpoints on a tiny set. */
async function prepare(server: Pg15Server, perMonth: number, strategy: 'FILE_COPY' | 'WAL_LOG'): Promise<number> {
  const admin = new pg.Client({ connectionString: server.url() });
  await admin.connect();
  try {
    await admin.query('CREATE DATABASE pc_template');
    await migrate({ kind: 'url', url: server.url('pc_template') }, createLogger({ level: 'warn' }));
    const pool = new pg.Pool({ connectionString: server.url('pc_template'), max: 2, options: '-c TimeZone=UTC' });
    let rows = 0;
    try {
      note(`loading ${MONTHS} months × ${perMonth} integration-log rows…`);
      const t0 = performance.now();
      rows = (await loadSampleData(pool, { months: MONTHS, logsPerMonth: perMonth, changeRequests: 1000 })).logRows;
      note(`loaded ${rows} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      await pool.query(LOCK_RECORDER);
      await pool.query(strategy === 'WAL_LOG' ? `ANALYZE ${KOS_LOG}` : 'VACUUM ANALYZE');
    } finally {
      await pool.end();
    }
    await admin.query(`CREATE DATABASE partman_template TEMPLATE pc_template STRATEGY ${strategy}`);
    const pm = new pg.Client({ connectionString: server.url('partman_template') });
    await pm.connect();
    try {
      // What a DBA would do on Azure: the extension, create_parent on the existing monthly
      // partitions (same names partman would choose), retention 12 months, tables dropped.
      await pm.query('CREATE SCHEMA partman; CREATE EXTENSION pg_partman SCHEMA partman');
      await pm.query(`SELECT partman.create_parent($1, 'created_at', 'native', 'monthly', p_premake => 3, p_jobmon => false)`, [KOS_LOG]);
      await pm.query(`UPDATE partman.part_config SET retention = '12 months', retention_keep_table = false, retention_keep_index = false WHERE parent_table = $1`, [KOS_LOG]);
    } finally {
      await pm.end();
    }
    for (const situation of SITUATIONS) {
      await admin.query(`CREATE DATABASE ${dbName('pg_partman', situation)} TEMPLATE partman_template STRATEGY ${strategy}`);
      await admin.query(`CREATE DATABASE ${dbName('dbops', situation)} TEMPLATE pc_template STRATEGY ${strategy}`);
    }
    await admin.query('CHECKPOINT');
    return rows;
  } finally {
    await admin.end();
  }
}

const dbName = (tool: Tool, situation: Situation) => `${tool === 'dbops' ? 'dbops' : 'partman'}_${situation.toLowerCase()}`;

async function measure(
  server: Pg15Server,
  tool: Tool,
  situation: Situation,
  o: { holdMs: number; baselineMs: number; warmMs: number },
): Promise<{ pass: Pass; baseline: Latency | null }> {
  const url = server.url(dbName(tool, situation));
  const monitor = new pg.Client({ connectionString: url, options: '-c TimeZone=UTC' });
  await monitor.connect();
  // The copy was just made: touch its catalogs and the parent once, so no tool pays for a cold start.
  await monitor.query(`SELECT count(*) FROM pg_inherits WHERE inhparent = to_regclass($1)`, [KOS_LOG]);
  await monitor.query(`SELECT 1 FROM ${KOS_LOG} LIMIT 1`);
  // The inserts run in a child process, so the dbops job's own JavaScript does not delay their timing.
  let load: RemoteLoad<Sample> | null = situation === 'idle' ? null : await spawnLoad('inserts', url, LOAD);
  let report: Promise<void> | null = null;
  try {
    const baselineWindow = { from: 0, to: 0 };
    if (load) {
      await sleep(o.warmMs);
      baselineWindow.from = clock();
      await sleep(o.baselineMs);
      baselineWindow.to = clock();
    }
    if (situation === 'longTransaction') {
      // A reporting query: reads the whole log in one transaction that stays open holdMs.
      const reporter = new pg.Client({ connectionString: url, application_name: 'pc-report' });
      await reporter.connect();
      const opened = performance.now();
      report = (async () => {
        await reporter.query('BEGIN');
        await reporter.query(`SELECT integration_type, count(*) FROM ${KOS_LOG} GROUP BY 1`);
        await reporter.query('SELECT pg_sleep($1)', [Math.max(0, o.holdMs - (performance.now() - opened)) / 1000]);
        await reporter.query('COMMIT');
        await reporter.end();
      })();
      await sleep(Math.min(1000, o.holdMs / 5));
    }

    const waits = sampleLockWaits(monitor, APP[tool]);
    const start = performance.now();
    const from = clock();
    const outcome = tool === 'dbops' ? await runDbops(url) : await runPartman(url);
    const end = performance.now();
    const to = clock();
    const maxLockWaitMs = await waits.stop();
    if (report) await report;
    const samples = load ? (await load.stop()).samples : null;
    load = null;
    const baseline = samples ? latency(within(samples, baselineWindow.from, baselineWindow.to)) : null;
    const inserts = samples ? latency(within(samples, from, to)) : null;

    const cutoff = monthStart(new Date(), -12).getTime();
    const parts = await listPartitions(monitor, PLAN_SCHEMA, PLAN_TABLES.kosLog);
    const expiredLeft = parts.filter((p) => p.to !== null && p.to.getTime() <= cutoff).length;
    const { rows: locks } = await monitor.query<{ command: string; mode: string; count: string }>(
      `SELECT command, mode, count(*) AS count FROM public.bench_ddl_lock WHERE app = $1 GROUP BY 1, 2 ORDER BY 1, 2`,
      [APP[tool]],
    );
    return {
      baseline,
      pass: {
        wallMs: end - start,
        inserts,
        locks: locks.map((l) => ({ command: l.command, mode: l.mode, count: Number(l.count) })),
        maxLockWaitMs,
        dropped: outcome.dropped,
        retentionCompleted: outcome.ok && expiredLeft === 0,
        detail: outcome.ok ? `${outcome.dropped} partition(s) dropped, ${expiredLeft} past retention left` : outcome.detail,
      },
    };
  } finally {
    await load?.stop();
    await report?.catch(() => undefined);
    await monitor.end();
  }
}

async function runPartman(url: string): Promise<{ ok: boolean; dropped: number; detail: string }> {
  const c = new pg.Client({ connectionString: url, application_name: APP.pg_partman });
  await c.connect();
  try {
    const before = await countChildren(c);
    // As users schedule it (pg_cron or the background worker): run_maintenance() for the set.
    await c.query('SELECT partman.run_maintenance($1, p_jobmon => false)', [KOS_LOG]);
    const after = await countChildren(c);
    return { ok: true, dropped: Math.max(0, before - after), detail: '' };
  } catch (err) {
    return { ok: false, dropped: 0, detail: (err as Error).message };
  } finally {
    await c.end();
  }
}

async function countChildren(c: pg.Client): Promise<number> {
  const { rows } = await c.query<{ n: string }>(`SELECT count(*) AS n FROM pg_inherits WHERE inhparent = to_regclass($1)`, [KOS_LOG]);
  return Number(rows[0]!.n);
}

async function runDbops(url: string): Promise<{ ok: boolean; dropped: number; detail: string }> {
  const env = { DATABASE_URL: url, DBOPS_ENVIRONMENT: 'bench' };
  const report = await runJob(
    registerJob(partitionMaintenance),
    {},
    { target: { kind: 'url', url }, settings: readCoreSettings(env), env, log: createLogger({ level: 'error' }), services: {}, afterRun: [] },
    { trigger: 'cli' },
  );
  const data = report.data as { dropped?: number };
  return { ok: report.status === 'ok' || report.status === 'warning', dropped: data.dropped ?? 0, detail: `${report.status}: ${report.summary}` };
}

/** Samples pg_locks every 25 ms for the longest wait of the maintenance session on the parent. */
function sampleLockWaits(monitor: pg.Client, app: string): { stop(): Promise<number> } {
  let stopping = false;
  let max = 0;
  const loop = (async () => {
    while (!stopping) {
      const { rows } = await monitor.query<{ ms: number | null }>(
        `SELECT max(extract(epoch FROM clock_timestamp() - l.waitstart) * 1000)::float8 AS ms
           FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE NOT l.granted AND a.application_name = $1 AND l.relation = to_regclass($2)`,
        [app, KOS_LOG],
      );
      max = Math.max(max, rows[0]?.ms ?? 0);
      await sleep(25);
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      return max;
    },
  };
}
