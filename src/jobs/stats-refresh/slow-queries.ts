import { qualified, type Queryable } from '../../platform/db/sql.js';
import type { Finding } from '../../shared/job.js';
import { errorMessage, redact } from '../../platform/redact.js';
import type { StatsRefreshSettings } from './settings.js';

export interface SlowQueryReport {
  available: boolean;
  findings: Finding[];
  data: Record<string, unknown>;
}

// Maintenance commands are slow by nature and run by jobs like this one; they are not the
// service's queries.
const MAINTENANCE = String.raw`^\s*(analyze|vacuum|reindex|cluster|refresh\s+materialized|create\s+(unique\s+)?index)\M`;
const MAX_QUERY_CHARS = 2000;

/**
 * The slowest statements by mean time and the share of statements slower than the plan's
 * slow-query limit, from pg_stat_statements (this database only). pg_stat_statements keeps
 * per-statement aggregates, not each call, so the share counts the calls of statements whose
 * mean is over the limit; `details` gives the bounds from min and max times.
 */
export async function slowQueries(
  db: Queryable,
  s: Pick<StatsRefreshSettings, 'slowQueryMs' | 'slowQueryShareWarningPercent' | 'slowQueryTop'>,
): Promise<SlowQueryReport> {
  const { rows: ext } = await db.query<{ schema: string; has_toplevel: boolean }>(
    `SELECT n.nspname AS schema,
            EXISTS (SELECT 1 FROM pg_attribute a JOIN pg_class v ON v.oid = a.attrelid
                     WHERE v.relname = 'pg_stat_statements' AND v.relnamespace = n.oid AND a.attname = 'toplevel') AS has_toplevel
       FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
      WHERE e.extname = 'pg_stat_statements'`,
  );
  const installed = ext[0];
  if (!installed) {
    return unavailable(
      'not installed',
      'pg_stat_statements is not installed in this database: the slow-query report is skipped',
      'CREATE EXTENSION pg_stat_statements (on Azure, allow it in azure.extensions and shared_preload_libraries first)',
    );
  }
  const view = qualified(installed.schema, 'pg_stat_statements');
  const toplevel = installed.has_toplevel ? 'toplevel' : 'true';
  const scope = `SELECT * FROM ${view} WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query !~* $1`;

  let totals: { total_time: number | null; calls: number | null; slow_by_mean: number | null; slow_at_least: number | null; slow_at_most: number | null };
  let top: Array<{ queryid: string; query: string; calls: number; total_time: number; mean_time: number; max_time: number; rows: number; toplevel: boolean; role: string | null }>;
  try {
    const t = await db.query<typeof totals>(
      `WITH s AS (${scope})
       SELECT sum(total_exec_time) FILTER (WHERE ${toplevel})::float8 AS total_time,
              sum(calls) FILTER (WHERE ${toplevel})::float8 AS calls,
              sum(calls) FILTER (WHERE ${toplevel} AND mean_exec_time >= $2)::float8 AS slow_by_mean,
              sum(calls) FILTER (WHERE ${toplevel} AND min_exec_time >= $2)::float8 AS slow_at_least,
              sum(calls) FILTER (WHERE ${toplevel} AND max_exec_time >= $2)::float8 AS slow_at_most
         FROM s`,
      [MAINTENANCE, s.slowQueryMs],
    );
    totals = t.rows[0]!;
    const q = await db.query<(typeof top)[number]>(
      `WITH s AS (${scope})
       SELECT s.queryid::text AS queryid, s.query, s.calls::float8 AS calls, s.total_exec_time::float8 AS total_time,
              s.mean_exec_time::float8 AS mean_time, s.max_exec_time::float8 AS max_time, s.rows::float8 AS rows,
              ${installed.has_toplevel ? 's.toplevel' : 'true'} AS toplevel, r.rolname AS role
         FROM s LEFT JOIN pg_roles r ON r.oid = s.userid
        WHERE s.calls > 0
        ORDER BY s.mean_exec_time DESC
        LIMIT $2`,
      [MAINTENANCE, s.slowQueryTop],
    );
    top = q.rows;
  } catch (err) {
    // Installed but not preloaded: the view raises instead of returning rows.
    return unavailable(
      'unreadable',
      `pg_stat_statements cannot be read: ${errorMessage(err)}; the slow-query report is skipped`,
      'Add pg_stat_statements to shared_preload_libraries and restart the server',
    );
  }

  const totalTime = totals.total_time ?? 0;
  const calls = totals.calls ?? 0;
  const pct = (n: number | null) => (calls > 0 ? Math.round(((n ?? 0) * 10000) / calls) / 100 : 0);
  const share = pct(totals.slow_by_mean);
  const findings: Finding[] = [
    {
      check: 'slow-queries.share',
      severity: share > s.slowQueryShareWarningPercent ? 'warning' : 'info',
      target: 'pg_stat_statements',
      message: `${share} % of statements took ${s.slowQueryMs} ms or more on average (plan: target under 1 %, alert over ${s.slowQueryShareWarningPercent} %)`,
      value: share,
      threshold: s.slowQueryShareWarningPercent,
      unit: '%',
      details: { calls, slowCalls: totals.slow_by_mean ?? 0, atLeastPercent: pct(totals.slow_at_least), atMostPercent: pct(totals.slow_at_most), slowQueryMs: s.slowQueryMs },
    },
  ];
  for (const [i, r] of top.entries()) {
    const text = redact(r.query.length > MAX_QUERY_CHARS ? `${r.query.slice(0, MAX_QUERY_CHARS)}…` : r.query);
    const timeShare = totalTime > 0 ? Math.round((r.total_time * 1000) / totalTime) / 10 : 0;
    findings.push({
      check: 'slow-queries.top',
      severity: 'info',
      target: `queryid ${r.queryid}`,
      message: `#${i + 1}: mean ${r.mean_time.toFixed(1)} ms over ${r.calls} calls, ${timeShare} % of total statement time: ${text.replace(/\s+/g, ' ').slice(0, 200)}`,
      value: Math.round(r.mean_time * 10) / 10,
      threshold: s.slowQueryMs,
      unit: 'ms',
      details: {
        rank: i + 1,
        queryid: r.queryid,
        query: text,
        calls: r.calls,
        meanMs: r.mean_time,
        maxMs: r.max_time,
        totalMs: r.total_time,
        shareOfTotalTimePercent: timeShare,
        rows: r.rows,
        role: r.role,
        nested: !r.toplevel,
      },
    });
  }
  const statsSince = await db
    .query<{ stats_reset: Date | null }>(`SELECT stats_reset FROM ${qualified(installed.schema, 'pg_stat_statements_info')}`)
    .then((r) => r.rows[0]?.stats_reset ?? null)
    .catch(() => null);
  return { available: true, findings, data: { pgStatStatements: 'installed', calls, slowSharePercent: share, statsSince } };
}

/** The report part when pg_stat_statements cannot serve it: a note, never a failure. */
function unavailable(state: string, message: string, remedy: string) {
  return {
    available: false as const,
    findings: [{ check: 'slow-queries.unavailable', severity: 'info' as const, target: 'pg_stat_statements', message, remedy }],
    data: { pgStatStatements: state },
  };
}
