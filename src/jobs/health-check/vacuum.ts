import { qualified } from '../../platform/db/sql.js';
import type { Finding } from '../../shared/job.js';
import { formatDuration, round, type CheckResult, type HealthCheck } from './check.js';
import { describeHolder, readXminHolders } from './xmin-horizon.js';

/** Tables reported by name per finding kind (the most dead tuples first). */
const LISTED = 20;

interface TableRow {
  schema: string;
  name: string;
  live: number;
  dead: number;
  dead_pct: number | null;
  mod_since_analyze: number;
  vacuum_age_s: number | null;
  autovacuum_age_s: number | null;
  analyze_age_s: number | null;
  av_enabled: boolean;
  vacuum_trigger: number;
  analyze_trigger: number;
  vacuum_due: boolean;
  analyze_due: boolean;
}
interface RunningRow { pid: number; datname: string; relation: string | null; phase: string; running_s: number | null; autovacuum: boolean; heap_blks_total: string; heap_blks_scanned: string }

/** Per-table autovacuum thresholds: the table's reloptions where set, else the server's. */
const option = (name: string, cast: string) =>
  `coalesce((SELECT option_value FROM pg_options_to_table(c.reloptions) WHERE option_name = '${name}')::${cast}, current_setting('${name}')::${cast})`;

const vacuumSql = `
WITH t AS (
  SELECT s.schemaname::text AS schema, s.relname::text AS name, s.n_live_tup::float8 AS live, s.n_dead_tup::float8 AS dead,
         s.n_mod_since_analyze::float8 AS mod_since_analyze,
         extract(epoch FROM now() - greatest(s.last_vacuum, s.last_autovacuum))::float8 AS vacuum_age_s,
         extract(epoch FROM now() - s.last_autovacuum)::float8 AS autovacuum_age_s,
         extract(epoch FROM now() - greatest(s.last_analyze, s.last_autoanalyze))::float8 AS analyze_age_s,
         current_setting('autovacuum')::bool AND coalesce((SELECT option_value FROM pg_options_to_table(c.reloptions) WHERE option_name = 'autovacuum_enabled')::bool, true) AS av_enabled,
         ${option('autovacuum_vacuum_threshold', 'float8')} + ${option('autovacuum_vacuum_scale_factor', 'float8')} * greatest(c.reltuples, 0) AS vacuum_trigger,
         ${option('autovacuum_analyze_threshold', 'float8')} + ${option('autovacuum_analyze_scale_factor', 'float8')} * greatest(c.reltuples, 0) AS analyze_trigger
    FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
   WHERE s.n_dead_tup >= $1 OR s.n_mod_since_analyze >= $1),
j AS (
  SELECT t.*, (100 * dead / nullif(live + dead, 0))::float8 AS dead_pct,
         dead > vacuum_trigger AND (NOT av_enabled OR vacuum_age_s IS NULL OR vacuum_age_s > $3) AS vacuum_due,
         mod_since_analyze > analyze_trigger AND (NOT av_enabled OR analyze_age_s IS NULL OR analyze_age_s > $3) AS analyze_due
    FROM t)
SELECT (SELECT coalesce(json_agg(x ORDER BY x.dead DESC), '[]') FROM (
          SELECT * FROM j WHERE dead >= $1 AND (dead_pct > $2 OR vacuum_due) OR analyze_due ORDER BY dead DESC LIMIT ${LISTED}) x) AS tables,
       (SELECT coalesce(json_agg(p ORDER BY p.running_s DESC NULLS LAST), '[]') FROM (
          SELECT v.pid, v.datname::text, v.relid::regclass::text AS relation, v.phase, a.backend_type = 'autovacuum worker' AS autovacuum,
                 extract(epoch FROM now() - coalesce(a.xact_start, a.query_start))::float8 AS running_s, v.heap_blks_total, v.heap_blks_scanned
            FROM pg_stat_progress_vacuum v LEFT JOIN pg_stat_activity a ON a.pid = v.pid) p) AS running,
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker')::int AS workers,
       current_setting('autovacuum_max_workers')::int AS max_workers,
       current_setting('autovacuum')::bool AS autovacuum`;

const ago = (s: number | null) => (s === null ? 'never' : `${formatDuration(s)} ago`);

/**
 * Vacuum health: dead tuples per table, tables past their autovacuum trigger that have not been
 * vacuumed (autovacuum off on them, or not keeping up), running vacuums and how long, and the
 * autovacuum workers busy against autovacuum_max_workers.
 */
export const vacuumCheck: HealthCheck = {
  name: 'vacuum',
  async run(c): Promise<CheckResult> {
    const s = c.settings;
    const { rows } = await c.db.query<{ tables: TableRow[]; running: RunningRow[]; workers: number; max_workers: number; autovacuum: boolean }>(vacuumSql, [
      s.vacuumDeadTuplesMin,
      s.vacuumDeadTuplesWarningPercent,
      s.vacuumOverdueSeconds,
    ]);
    const r = rows[0]!;
    const findings: Finding[] = [];
    let holder: string | undefined;
    const heldBack = async () => {
      if (holder === undefined) {
        const oldest = (await readXminHolders(c.db, 1))[0];
        holder = oldest && oldest.age > s.xminHorizonWarningAge ? `; ${describeHolder(oldest)}` : '';
      }
      return holder;
    };
    if (!r.autovacuum) {
      findings.push({ check: 'vacuum.autovacuum-off', severity: 'critical', message: 'autovacuum is off on the server: dead rows pile up and nothing freezes old transaction IDs', remedy: 'turn the autovacuum server parameter back on' });
    }
    let deadTables = 0;
    for (const t of r.tables) {
      const table = `${t.schema}.${t.name}`;
      const when = `last vacuum ${ago(t.vacuum_age_s)} (autovacuum ${ago(t.autovacuum_age_s)}), last analyze ${ago(t.analyze_age_s)}`;
      const details = { live: t.live, dead: t.dead, deadPercent: t.dead_pct === null ? null : round(t.dead_pct, 1), vacuumTrigger: Math.round(t.vacuum_trigger), autovacuumEnabled: t.av_enabled, lastVacuumSecondsAgo: t.vacuum_age_s, lastAnalyzeSecondsAgo: t.analyze_age_s };
      const disabled = t.av_enabled ? '' : ' (autovacuum is off for it)';
      if (t.dead >= s.vacuumDeadTuplesMin && (t.dead_pct ?? 0) > s.vacuumDeadTuplesWarningPercent) {
        deadTables++;
        findings.push({
          check: 'vacuum.dead-tuples',
          severity: 'warning',
          target: table,
          message: `${table} is ${round(t.dead_pct ?? 0, 1)} % dead tuples (${Math.round(t.dead).toLocaleString('en')} dead, ${Math.round(t.live).toLocaleString('en')} live)${disabled}; ${when}${await heldBack()}`,
          value: round(t.dead_pct ?? 0, 1),
          threshold: s.vacuumDeadTuplesWarningPercent,
          unit: '%',
          remedy: `VACUUM (VERBOSE, ANALYZE) ${qualified(t.schema, t.name)}${t.av_enabled ? '' : `; ALTER TABLE ${qualified(t.schema, t.name)} RESET (autovacuum_enabled)`}`,
          details,
        });
      }
      if (t.vacuum_due) {
        findings.push({
          check: 'vacuum.behind',
          severity: 'warning',
          target: table,
          message: `${table} has ${Math.round(t.dead).toLocaleString('en')} dead tuples, past its autovacuum trigger of ${Math.round(t.vacuum_trigger).toLocaleString('en')}, and ${t.av_enabled ? `has not been vacuumed for over ${formatDuration(s.vacuumOverdueSeconds)}: autovacuum is not keeping up` : 'autovacuum is off for it'}; ${when}`,
          value: Math.round(t.dead),
          threshold: Math.round(t.vacuum_trigger),
          remedy: t.av_enabled
            ? `VACUUM (VERBOSE) ${qualified(t.schema, t.name)} now; then give autovacuum more room (autovacuum_vacuum_cost_limit, autovacuum_max_workers, or a lower autovacuum_vacuum_scale_factor on this table)`
            : `ALTER TABLE ${qualified(t.schema, t.name)} RESET (autovacuum_enabled); VACUUM (VERBOSE) ${qualified(t.schema, t.name)}`,
          details,
        });
      }
      if (t.analyze_due) {
        findings.push({
          check: 'vacuum.analyze-behind',
          severity: 'warning',
          target: table,
          message: `${table} has ${Math.round(t.mod_since_analyze).toLocaleString('en')} rows changed since its last analyze (${ago(t.analyze_age_s)}), past its trigger of ${Math.round(t.analyze_trigger).toLocaleString('en')}${disabled}: the planner works from stale statistics`,
          value: Math.round(t.mod_since_analyze),
          threshold: Math.round(t.analyze_trigger),
          remedy: `ANALYZE (VERBOSE) ${qualified(t.schema, t.name)}`,
          details,
        });
      }
    }
    for (const v of r.running) {
      const long = v.running_s !== null && v.running_s > s.vacuumRunningWarningSeconds;
      const total = Number(v.heap_blks_total);
      const done = total > 0 ? ` ${Math.round((100 * Number(v.heap_blks_scanned)) / total)} % scanned` : '';
      findings.push({
        check: 'vacuum.running',
        severity: long ? 'warning' : 'info',
        target: `${v.datname}: ${v.relation ?? '?'}`,
        message: `${v.autovacuum ? 'autovacuum' : 'VACUUM'} of ${v.relation ?? '?'} in ${v.datname} (pid ${v.pid}) has run ${v.running_s === null ? 'for an unknown time' : formatDuration(v.running_s)}, ${v.phase}${done}`,
        ...(v.running_s !== null ? { value: round(v.running_s), unit: 's' } : {}),
        threshold: s.vacuumRunningWarningSeconds,
        ...(long ? { remedy: 'a vacuum this long is throttled (autovacuum_vacuum_cost_limit / cost_delay) or waits on the xmin horizon; let an anti-wraparound one finish' } : {}),
      });
    }
    const busyPct = (100 * r.workers) / Math.max(1, r.max_workers);
    if (busyPct >= s.autovacuumWorkersBusyWarningPercent) {
      findings.push({
        check: 'vacuum.workers',
        severity: 'warning',
        message: `${r.workers} of autovacuum_max_workers ${r.max_workers} autovacuum workers are busy: tables waiting for one queue up`,
        value: r.workers,
        threshold: r.max_workers,
        remedy: 'raise autovacuum_max_workers (restart) and autovacuum_vacuum_cost_limit together, or look for a long vacuum above',
      });
    }
    if (findings.length === 0) findings.push({ check: 'vacuum', severity: 'info', message: `vacuum keeps up: no table above ${s.vacuumDeadTuplesWarningPercent} % dead tuples or past its autovacuum trigger; ${r.workers} of ${r.max_workers} autovacuum workers busy` });
    return { findings, metrics: { 'vacuum.dead-tuple-tables': deadTables, 'vacuum.running': r.running.length, 'vacuum.workers-busy': r.workers } };
  },
};
