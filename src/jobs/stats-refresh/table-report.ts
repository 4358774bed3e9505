import type { Queryable } from '../../platform/db/sql.js';
import type { Finding } from '../../shared/job.js';
import type { StatsRefreshSettings } from './settings.js';

const MB = 1024 * 1024;
const userSchemas = (column: string) => `${column} NOT IN ('pg_catalog', 'information_schema') AND ${column} !~ '^pg_(toast|temp_)'`;

export async function heavySequentialScans(
  db: Queryable,
  s: Pick<StatsRefreshSettings, 'seqScanMinRows' | 'seqScanMinCount' | 'seqScanPercent'>,
): Promise<Finding[]> {
  const { rows } = await db.query<{ schema: string; name: string; seq_scan: number; idx_scan: number; seq_tup_read: number; live: number }>(
    `SELECT s.schemaname AS schema, s.relname AS name, s.seq_scan::float8 AS seq_scan, coalesce(s.idx_scan, 0)::float8 AS idx_scan,
            s.seq_tup_read::float8 AS seq_tup_read, s.n_live_tup::float8 AS live
       FROM pg_stat_all_tables s
      WHERE ${userSchemas('s.schemaname')} AND s.n_live_tup >= $1 AND s.seq_scan >= $2
        AND s.seq_scan * 100.0 / (s.seq_scan + coalesce(s.idx_scan, 0)) >= $3
      ORDER BY s.seq_tup_read DESC`,
    [s.seqScanMinRows, s.seqScanMinCount, s.seqScanPercent],
  );
  return rows.map((r) => {
    const percent = Math.round((r.seq_scan * 1000) / (r.seq_scan + r.idx_scan)) / 10;
    return {
      check: 'table.sequential-scans',
      severity: 'info',
      target: `${r.schema}.${r.name}`,
      message: `${r.schema}.${r.name} (${r.live} rows) is read by sequential scans ${percent} % of the time (${r.seq_scan} scans reading ${r.seq_tup_read} rows): a query may lack an index`,
      value: percent,
      threshold: s.seqScanPercent,
      unit: '%',
      remedy: 'Find the statements reading it in pg_stat_statements and EXPLAIN them',
      details: { seqScans: r.seq_scan, indexScans: r.idx_scan, rowsReadBySeqScans: r.seq_tup_read, liveRows: r.live },
    };
  });
}

/**
 * Table bloat estimated from the statistics, without reading the table: the pages its live
 * rows need (row header, null bitmap and average column widths from pg_stats, at the table's
 * fillfactor) against the pages it has. Tables never analyzed have no widths and are skipped;
 * run this after the ANALYZE step so the estimate uses fresh statistics.
 */
export async function estimatedBloat(db: Queryable, s: Pick<StatsRefreshSettings, 'bloatWarningPercent' | 'bloatMinMb'>): Promise<Finding[]> {
  const { rows } = await db.query<{ schema: string; name: string; bytes: number; expected_bytes: number }>(
    `WITH widths AS (
       SELECT st.schemaname, st.tablename,
              sum((1 - st.null_frac) * st.avg_width) AS data_width,
              bool_or(st.null_frac > 0) AS has_nulls, count(*) AS columns
         FROM pg_stats st WHERE NOT st.inherited GROUP BY 1, 2
     ), shape AS (
       SELECT n.nspname AS schema, c.relname AS name, c.relpages::float8 AS pages, greatest(c.reltuples, 0)::float8 AS tuples,
              current_setting('block_size')::float8 AS bs,
              coalesce((SELECT option_value::float8 FROM pg_options_to_table(c.reloptions) WHERE option_name = 'fillfactor'), 100) AS fillfactor,
              -- tuple header (23 bytes, + null bitmap) aligned to 8, data aligned to 8, plus a 4-byte line pointer
              ceil((23 + CASE WHEN w.has_nulls THEN ceil(w.columns / 8.0) ELSE 0 END) / 8.0) * 8 + ceil(w.data_width / 8.0) * 8 + 4 AS row_bytes
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN widths w ON w.schemaname = n.nspname AND w.tablename = c.relname
        WHERE c.relkind IN ('r', 'm') AND ${userSchemas('n.nspname')} AND c.relpages > 0
     )
     SELECT schema, name, pages * bs AS bytes,
            ceil(tuples * row_bytes / ((bs - 24) * fillfactor / 100)) * bs AS expected_bytes
       FROM shape
      ORDER BY pages DESC`,
  );
  const out: Finding[] = [];
  for (const r of rows) {
    const wasted = Math.max(0, r.bytes - r.expected_bytes);
    const percent = r.bytes > 0 ? Math.round((wasted * 1000) / r.bytes) / 10 : 0;
    if (percent < s.bloatWarningPercent || wasted < s.bloatMinMb * MB) continue;
    out.push({
      check: 'table.bloat',
      severity: 'warning',
      target: `${r.schema}.${r.name}`,
      message: `${r.schema}.${r.name} is an estimated ${percent} % bloat (${Math.round(wasted / MB)} MB of ${Math.round(r.bytes / MB)} MB not needed by its live rows)`,
      value: percent,
      threshold: s.bloatWarningPercent,
      unit: '%',
      remedy: 'Check that autovacuum keeps up with the table (n_dead_tup, last_autovacuum); reclaiming the space needs pg_repack or VACUUM FULL (ACCESS EXCLUSIVE lock) in a maintenance window',
      details: { bytes: r.bytes, estimatedNeededBytes: r.expected_bytes },
    });
  }
  return out;
}
