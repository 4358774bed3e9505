import type { Queryable } from '../../platform/db/sql.js';
import type { StatsRefreshSettings } from './settings.js';

type Rules = Pick<StatsRefreshSettings, 'analyzeThreshold' | 'analyzeScaleFactor' | 'analyzeMaxAgeDays'>;

export interface AnalyzeTarget {
  relid: number;
  schema: string;
  name: string;
  kind: 'table' | 'partition' | 'partitioned' | 'materialized view';
  /** Why it is analyzed, in words an operator reads. */
  reason: string;
  changes: number;
  threshold: number;
  /** For a partitioned parent: its leaf partitions, analyzed by the same statement on 14. */
  covers?: string[];
  /** For a partitioned parent: what to record once it is analyzed. */
  baseline?: ParentBaseline;
}

/** A parent that needs nothing now, and why: the report shows parents are looked after. */
export interface FreshParent {
  schema: string;
  name: string;
  changes: number;
  threshold: number;
  estimated: boolean;
}

export interface ParentBaseline {
  schema: string;
  name: string;
  relid: number;
  /** The parent's analyze this baseline belongs to; null: the server's clock when recorded. */
  analyzedAt: Date | null;
  leafChanges: number;
  leafRelids: number[];
  statsReset: Date | null;
  source: 'analyzed' | 'estimated';
}

export interface AnalyzePlan {
  targets: AnalyzeTarget[];
  freshParents: FreshParent[];
  /** Baselines to record even though nothing is analyzed (an adopted parent). */
  adoptedBaselines: ParentBaseline[];
  /** Relations looked at, leaves and parents together. */
  considered: number;
}

interface TableRow {
  relid: number;
  schema: string;
  name: string;
  relkind: 'r' | 'm';
  is_partition: boolean;
  reltuples: number;
  n_live_tup: number;
  n_mod_since_analyze: number;
  last_analyzed: Date | null;
  rel_threshold: string | null;
  rel_scale: string | null;
}

interface ParentRow {
  relid: number;
  schema: string;
  name: string;
  reltuples: number;
  last_analyze: Date | null;
  has_stats: boolean;
  leaf_relids: number[];
  leaf_names: string[];
  leaf_changes: number;
  leaf_mods_since_analyze: number;
  stats_reset: Date | null;
}

interface BaselineRow {
  schema_name: string;
  table_name: string;
  relid: number;
  analyzed_at: Date;
  leaf_changes: number;
  leaf_relids: number[];
  stats_reset: Date | null;
}

const DAY_MS = 86_400_000;
const USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'`;

/** Autovacuum's analyze rule: changed rows beyond threshold + scale × rows. */
export function analyzeThreshold(reltuples: number, threshold: number, scale: number): number {
  return Math.round(threshold + scale * Math.max(reltuples, 0));
}

function describeAge(ms: number): string {
  const days = ms / DAY_MS;
  return days >= 1 ? `${Math.floor(days)} days` : `${Math.round(ms / 3_600_000)} hours`;
}

/** Tables, partitions and materialized views whose statistics are stale by the rules. */
export function staleTables(rows: readonly TableRow[], rules: Rules, now: Date): AnalyzeTarget[] {
  const out: AnalyzeTarget[] = [];
  for (const r of rows) {
    const threshold = analyzeThreshold(
      r.reltuples,
      r.rel_threshold !== null ? Number(r.rel_threshold) : rules.analyzeThreshold,
      r.rel_scale !== null ? Number(r.rel_scale) : rules.analyzeScaleFactor,
    );
    const changes = r.n_mod_since_analyze;
    const age = r.last_analyzed ? now.getTime() - r.last_analyzed.getTime() : null;
    let reason: string | null = null;
    if (changes > threshold) {
      reason = `${changes} rows changed since the last analyze, above ${threshold}`;
    } else if (age === null && (changes > 0 || r.n_live_tup > 0)) {
      reason = 'never analyzed';
    } else if (age !== null && changes > 0 && age > rules.analyzeMaxAgeDays * DAY_MS) {
      reason = `last analyzed ${describeAge(age)} ago and ${changes} rows changed since (limit ${rules.analyzeMaxAgeDays} days)`;
    }
    if (reason) {
      out.push({
        relid: r.relid,
        schema: r.schema,
        name: r.name,
        kind: r.relkind === 'm' ? 'materialized view' : r.is_partition ? 'partition' : 'table',
        reason,
        changes,
        threshold,
      });
    }
  }
  return out;
}

export interface ParentDecision {
  target?: AnalyzeTarget;
  fresh?: FreshParent;
  adopted?: ParentBaseline;
}

/**
 * How much a partitioned parent changed since its last ANALYZE. With a baseline recorded at
 * that ANALYZE, the partitions' cumulative counters say it exactly. Without one (never recorded,
 * or the parent was analyzed by someone else since, or the counters were reset), the partitions'
 * changes since their own last analyze are the best estimate, and become the new baseline.
 */
export function decideParent(p: ParentRow, baseline: BaselineRow | undefined, rules: Rules, now: Date): ParentDecision {
  const threshold = analyzeThreshold(p.reltuples, rules.analyzeThreshold, rules.analyzeScaleFactor);
  const fresh = (changes: number, estimated: boolean): FreshParent => ({ schema: p.schema, name: p.name, changes, threshold, estimated });
  const target = (reason: string, changes: number): AnalyzeTarget => ({
    relid: p.relid,
    schema: p.schema,
    name: p.name,
    kind: 'partitioned',
    reason,
    changes,
    threshold,
    covers: p.leaf_names,
    baseline: {
      schema: p.schema,
      name: p.name,
      relid: p.relid,
      analyzedAt: null,
      leafChanges: p.leaf_changes,
      leafRelids: p.leaf_relids,
      statsReset: p.stats_reset,
      source: 'analyzed',
    },
  });

  if (!p.last_analyze && !p.has_stats) {
    return p.leaf_changes > 0 || p.leaf_mods_since_analyze > 0 || p.reltuples > 0
      ? { target: target('partitioned parent never analyzed (autovacuum never does it)', p.leaf_mods_since_analyze) }
      : { fresh: fresh(0, false) };
  }

  const valid =
    baseline !== undefined &&
    baseline.relid === p.relid &&
    p.last_analyze !== null &&
    p.last_analyze.getTime() <= baseline.analyzed_at.getTime() &&
    (baseline.stats_reset?.getTime() ?? null) === (p.stats_reset?.getTime() ?? null) &&
    p.leaf_changes >= baseline.leaf_changes;

  let changes: number;
  let adopted: ParentBaseline | undefined;
  if (valid) {
    const removed = baseline.leaf_relids.filter((id) => !p.leaf_relids.includes(id));
    if (removed.length > 0) {
      return { target: target(`${removed.length} partition(s) detached or dropped since the last analyze`, p.leaf_changes - baseline.leaf_changes) };
    }
    changes = p.leaf_changes - baseline.leaf_changes;
  } else {
    changes = p.leaf_mods_since_analyze;
    adopted = {
      schema: p.schema,
      name: p.name,
      relid: p.relid,
      analyzedAt: p.last_analyze ?? now,
      leafChanges: p.leaf_changes - changes,
      leafRelids: p.leaf_relids,
      statsReset: p.stats_reset,
      source: 'estimated',
    };
  }

  const age = p.last_analyze ? now.getTime() - p.last_analyze.getTime() : null;
  if (changes > threshold) {
    return { target: target(`${changes} rows changed in its partitions since the last analyze, above ${threshold}`, changes) };
  }
  if (changes > 0 && age !== null && age > rules.analyzeMaxAgeDays * DAY_MS) {
    return { target: target(`last analyzed ${describeAge(age)} ago and ${changes} rows changed since (limit ${rules.analyzeMaxAgeDays} days)`, changes) };
  }
  return { fresh: fresh(changes, !valid), ...(adopted ? { adopted } : {}) };
}

/**
 * What to analyze now. A partitioned parent that needs it is analyzed with one statement,
 * which on PostgreSQL 14 analyzes every partition too, so its partitions are not analyzed
 * again on their own; otherwise only the changed partitions are.
 */
export async function planAnalyze(db: Queryable, rules: Rules, now: Date): Promise<AnalyzePlan> {
  const { rows: tables } = await db.query<TableRow>(
    `SELECT c.oid::int8::float8 AS relid, n.nspname AS schema, c.relname AS name, c.relkind, c.relispartition AS is_partition,
            greatest(c.reltuples, 0)::float8 AS reltuples, s.n_live_tup::float8 AS n_live_tup,
            s.n_mod_since_analyze::float8 AS n_mod_since_analyze,
            nullif(greatest(coalesce(s.last_analyze, '-infinity'), coalesce(s.last_autoanalyze, '-infinity')), '-infinity') AS last_analyzed,
            (SELECT option_value FROM pg_options_to_table(c.reloptions) WHERE option_name = 'autovacuum_analyze_threshold') AS rel_threshold,
            (SELECT option_value FROM pg_options_to_table(c.reloptions) WHERE option_name = 'autovacuum_analyze_scale_factor') AS rel_scale
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_stat_all_tables s ON s.relid = c.oid
      WHERE c.relkind IN ('r', 'm') AND ${USER_SCHEMAS}
      ORDER BY n.nspname, c.relname`,
  );
  const { rows: parents } = await db.query<ParentRow>(
    `SELECT p.oid::int8::float8 AS relid, n.nspname AS schema, p.relname AS name, greatest(p.reltuples, 0)::float8 AS reltuples,
            s.last_analyze,
            EXISTS (SELECT 1 FROM pg_stats st WHERE st.schemaname = n.nspname AND st.tablename = p.relname AND st.inherited) AS has_stats,
            coalesce(array_agg(t.relid::oid::int8::float8 ORDER BY t.relid) FILTER (WHERE t.relid IS NOT NULL), '{}') AS leaf_relids,
            coalesce(array_agg(format('%s.%s', ln.nspname, lc.relname) ORDER BY t.relid) FILTER (WHERE t.relid IS NOT NULL), '{}') AS leaf_names,
            coalesce(sum(ls.n_tup_ins + ls.n_tup_upd + ls.n_tup_del), 0)::float8 AS leaf_changes,
            coalesce(sum(ls.n_mod_since_analyze), 0)::float8 AS leaf_mods_since_analyze,
            (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()) AS stats_reset
       FROM pg_class p
       JOIN pg_namespace n ON n.oid = p.relnamespace
       LEFT JOIN pg_stat_all_tables s ON s.relid = p.oid
       LEFT JOIN LATERAL (SELECT relid FROM pg_partition_tree(p.oid) WHERE isleaf) t ON true
       LEFT JOIN pg_class lc ON lc.oid = t.relid
       LEFT JOIN pg_namespace ln ON ln.oid = lc.relnamespace
       LEFT JOIN pg_stat_all_tables ls ON ls.relid = t.relid
      WHERE p.relkind = 'p' AND NOT p.relispartition AND ${USER_SCHEMAS}
      GROUP BY p.oid, n.nspname, p.relname, p.reltuples, s.last_analyze
      ORDER BY n.nspname, p.relname`,
  );
  const { rows: baselines } = await db.query<BaselineRow>(
    `SELECT schema_name, table_name, relid::int8::float8 AS relid, analyzed_at, leaf_changes::float8 AS leaf_changes,
            leaf_relids::int8[]::float8[] AS leaf_relids, stats_reset
       FROM ops.stats_refresh_parent_baseline`,
  );

  const targets: AnalyzeTarget[] = [];
  const freshParents: FreshParent[] = [];
  const adoptedBaselines: ParentBaseline[] = [];
  const coveredLeaves = new Set<number>();
  for (const p of parents) {
    const decision = decideParent(p, baselines.find((b) => b.schema_name === p.schema && b.table_name === p.name), rules, now);
    if (decision.target) {
      targets.push(decision.target);
      for (const id of p.leaf_relids) coveredLeaves.add(id);
    }
    if (decision.fresh) freshParents.push(decision.fresh);
    if (decision.adopted) adoptedBaselines.push(decision.adopted);
  }
  targets.push(...staleTables(tables, rules, now).filter((t) => !coveredLeaves.has(t.relid)));
  return { targets, freshParents, adoptedBaselines, considered: tables.length + parents.length };
}

export async function recordBaseline(db: Queryable, b: ParentBaseline): Promise<void> {
  await db.query(
    `INSERT INTO ops.stats_refresh_parent_baseline (schema_name, table_name, relid, analyzed_at, leaf_changes, leaf_relids, stats_reset, source, recorded_at)
     VALUES ($1, $2, $3, coalesce($4, clock_timestamp()), $5, $6::int8[]::oid[], $7, $8, now())
     ON CONFLICT (schema_name, table_name) DO UPDATE
       SET relid = EXCLUDED.relid, analyzed_at = EXCLUDED.analyzed_at, leaf_changes = EXCLUDED.leaf_changes,
           leaf_relids = EXCLUDED.leaf_relids, stats_reset = EXCLUDED.stats_reset, source = EXCLUDED.source, recorded_at = now()`,
    [b.schema, b.name, b.relid, b.analyzedAt, b.leafChanges, b.leafRelids, b.statsReset, b.source],
  );
}
