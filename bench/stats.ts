/**
 * stats-refresh vs a plain database-wide ANALYZE, on a database of 40+ tables (the partitioned
 * integration log with 14 monthly partitions among them, about a million rows) of which a few
 * changed. Both must leave the partitioned parent's statistics fresh; the job should take at
 * least 5 times less time. A second scenario changes the log enough that its parent must be
 * re-analyzed too (on PostgreSQL 14 that re-analyzes every partition), to show that cost.
 */
import pg from 'pg';
import { planAnalyze } from '../src/jobs/stats-refresh/analyze-plan.js';
import { statsRefresh } from '../src/jobs/stats-refresh/index.js';
import { readCoreSettings } from '../src/shared/config.js';
import { monthStart, monthlyPartitionName } from '../src/platform/db/partitions.js';
import { loadSampleData } from '../src/platform/db/sample-data.js';
import { qualified } from '../src/platform/db/sql.js';
import { registerJob } from '../src/shared/job.js';
import { createLogger } from '../src/platform/log.js';
import { PLAN_SCHEMA, PLAN_TABLES } from '../src/shared/plan.js';
import { runJob } from '../src/shared/runner/run-job.js';
import { benchDatabase, median, note, type BenchResult } from './support.js';

const EXTRA_TABLES = 38;
const ROWS_PER_TABLE = 8_000;
const ROUNDS = 3;
const settle = () => new Promise((r) => setTimeout(r, 700));
const rules = { analyzeThreshold: 50, analyzeScaleFactor: 0.1, analyzeMaxAgeDays: 7 };

export async function run({ args }: { json: boolean; args: string[] }): Promise<BenchResult> {
  // --tiny: a few thousand rows, one round (the smoke test).
  const tiny = args.includes('--tiny');
  const rounds = Number(args.find((a) => a.startsWith('--rounds='))?.slice(9) ?? (tiny ? 1 : ROUNDS));
  const extraTables = tiny ? 3 : EXTRA_TABLES;
  const rowsPerTable = tiny ? 500 : ROWS_PER_TABLE;
  note('starting PostgreSQL 14 (autovacuum off, so only the contenders analyze)…');
  const bench = await benchDatabase({ autovacuum: 'off' });
  try {
    const now = new Date();
    note('loading ~1M rows…');
    const sample = await loadSampleData(bench.pool, { months: 11, monthsAhead: 3, logsPerMonth: tiny ? 300 : 55_000, changeRequests: tiny ? 1000 : 150_000, now });
    await bench.pool.query('CREATE SCHEMA bench');
    for (let i = 1; i <= extraTables; i++) {
      const t = `bench.t${String(i).padStart(2, '0')}`;
      await bench.pool.query(`CREATE TABLE ${t} (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2), note text, at timestamptz)`);
      await bench.pool.query(
        `INSERT INTO ${t} SELECT g, 'C' || (g % 5000), (random() * 1000)::numeric(12,2), md5(g::text), now() - g * interval '1 minute' FROM generate_series(1, $1) g`,
        [rowsPerTable],
      );
    }
    const { rows: shape } = await bench.pool.query<{ tables: string; rows: string }>(
      `SELECT count(*) AS tables, sum(n_live_tup) AS rows FROM pg_stat_user_tables WHERE schemaname IN ('bench', 'product_change')`,
    );
    const current = qualified(PLAN_SCHEMA, monthlyPartitionName(PLAN_TABLES.kosLog, monthStart(now)));
    const parent = `${PLAN_SCHEMA}.${PLAN_TABLES.kosLog}`;
    const target = { kind: 'url' as const, url: bench.url };
    const deps = {
      target,
      settings: readCoreSettings({ DATABASE_URL: bench.url }),
      env: { DATABASE_URL: bench.url },
      log: createLogger({ level: 'warn' }),
    };
    const job = registerJob(statsRefresh);

    /**
     * Changes on a session that ends: PostgreSQL 14 sends a backend's counters when it exits.
     * Then VACUUM (which leaves the analyze counters alone) of what changed, so the contender
     * measured second does not read the dead rows of both rounds of changes.
     */
    const change = async (statements: string[], vacuum: string[]) => {
      const c = new pg.Client({ connectionString: bench.url });
      await c.connect();
      for (const s of statements) await c.query(s);
      for (const v of vacuum) await c.query(`VACUUM ${v}`);
      await c.end();
      await settle();
    };
    const analyzeCount = async () =>
      Number((await bench.pool.query<{ n: string }>('SELECT coalesce(sum(analyze_count), 0) AS n FROM pg_stat_user_tables')).rows[0]?.n);
    const parentState = async () => {
      const plan = await planAnalyze(bench.pool, rules, new Date());
      const fresh = plan.freshParents.find((p) => `${p.schema}.${p.name}` === parent);
      return fresh ? `fresh (${fresh.changes} changed < ${fresh.threshold})` : 'STALE';
    };
    const measure = async (label: string, fn: () => Promise<void>) => {
      const before = await analyzeCount();
      const t = performance.now();
      await fn();
      const ms = performance.now() - t;
      await settle();
      const analyzed = (await analyzeCount()) - before;
      const state = await parentState();
      note(`  ${label}: ${ms.toFixed(0)} ms, ${analyzed} relations analyzed, parent ${state}`);
      return { ms, analyzed, state };
    };

    // Start from fresh statistics everywhere, with the job's parent baseline recorded.
    await bench.pool.query('ANALYZE');
    await settle();
    await runJob(job, {}, deps, { trigger: 'cli' });
    await settle();

    const scenario = async (name: string, changes: string[], vacuum: string[]) => {
      const full: number[] = [];
      const ours: number[] = [];
      let fullAnalyzed = 0;
      let oursAnalyzed = 0;
      let fullState = '';
      let oursState = '';
      note(`${name}:`);
      for (let r = 0; r < rounds; r++) {
        await change(changes, vacuum);
        const a = await measure('ANALYZE (database-wide)', async () => {
          await bench.pool.query('ANALYZE');
        });
        full.push(a.ms);
        fullAnalyzed = a.analyzed;
        fullState = a.state;
        await change(changes, vacuum);
        const b = await measure('stats-refresh', async () => {
          const report = await runJob(job, {}, deps, { trigger: 'cli' });
          if (report.status === 'failed') throw new Error(report.summary);
          note(`    ${report.actions.map((x) => `${x.statement} (${x.status})`).join(', ')}`);
        });
        ours.push(b.ms);
        oursAnalyzed = b.analyzed;
        oursState = b.state;
      }
      return { full: median(full), ours: median(ours), fullAnalyzed, oursAnalyzed, fullState, oursState };
    };

    const few = [
      ...['t01', 't02', 't03'].map((t) => `UPDATE bench.${t} SET amount = amount + 1 WHERE id % 5 = 0`),
      // 15 % of the current partition: past its own threshold, far below its parent's.
      `INSERT INTO ${qualified(PLAN_SCHEMA, PLAN_TABLES.kosLog)} (request_id, integration_type, is_success, response_time_ms, created_at)
       SELECT 'BENCH-' || g, 'PRODUCT_CHANGE', true, 120, now() - random() * interval '1 hour'
         FROM generate_series(1, (SELECT (count(*) * 0.15)::int FROM ${current})) g`,
    ];
    const a = await scenario('a few tables changed (3 tables by 20 %, 15 % more rows in the current log partition)', few, ['bench.t01', 'bench.t02', 'bench.t03', current]);
    const big = [`UPDATE ${qualified(PLAN_SCHEMA, PLAN_TABLES.kosLog)} SET response_time_ms = coalesce(response_time_ms, 0) + 1 WHERE id % 5 = 0`];
    const b = await scenario('20 % of the log updated: its parent is past its threshold', big, [parent]);

    const ratio = a.full / a.ours;
    const parentRatio = b.full / b.ours;
    const fmt = (ms: number) => `${ms.toFixed(0)} ms`;
    return {
      name: 'stats',
      title: `stats-refresh vs database-wide ANALYZE: ${shape[0]?.tables} tables, ${Number(shape[0]?.rows).toLocaleString('en')} rows, ${sample.partitions} partitions of ${parent}; median of ${rounds} rounds`,
      table: [
        ['A few changed: ANALYZE (database-wide)', fmt(a.full), `${a.fullAnalyzed} relations`, `parent ${a.fullState}`],
        ['A few changed: stats-refresh (whole job)', fmt(a.ours), `${a.oursAnalyzed} relations`, `parent ${a.oursState}`],
        ['Parent past threshold: ANALYZE (database-wide)', fmt(b.full), `${b.fullAnalyzed} relations`, `parent ${b.fullState}`],
        ['Parent past threshold: stats-refresh', fmt(b.ours), `${b.oursAnalyzed} relations`, `parent ${b.oursState}`, `parentRatio ${parentRatio.toFixed(2)}×`],
      ],
      ratio,
      goal: 'a few tables changed: at least 5× less time than database-wide ANALYZE, the partitioned parent fresh in both; parent past threshold: never slower than ANALYZE (parentRatio ≥ 1)',
      goalMet: ratio >= 5 && a.fullState.startsWith('fresh') && a.oursState.startsWith('fresh') && parentRatio >= 1,
      parentRatio,
      scenarios: { fewChanged: a, parentPastThreshold: { ...b, ratio: parentRatio } },
      current,
    };
  } finally {
    await bench.stop();
  }
}
