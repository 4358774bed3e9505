import { qualified } from '../../platform/db/sql.js';
import type { Finding } from '../../shared/job.js';
import { formatBytes, round, type CheckResult, type HealthCheck } from './check.js';

/** Indexes examined precisely with pgstattuple (the largest ones); it reads each one whole. */
const PRECISE_LIMIT = 20;
const LISTED = 20;

interface BloatRow { schema: string; index: string; table: string; bytes: number; bloat_bytes: number; bloat_pct: number; method: 'estimate' | 'pgstattuple' }

/**
 * B-tree index bloat estimated from the statistics (reltuples, pg_stats.avg_width and null_frac
 * of the indexed columns, fillfactor): the pages the entries need against the pages the index
 * has, as PgHero and check_postgres do. Indexes with expression columns (no statistics of their
 * own here) are left out of the estimate.
 */
const estimateSql = `
WITH idx AS (
  SELECT i.indexrelid, n.nspname::text AS schema, ic.relname::text AS index, tc.relname::text AS table, ic.relpages::float8 AS relpages, greatest(ic.reltuples, 0)::float8 AS reltuples,
         coalesce((SELECT option_value FROM pg_options_to_table(ic.reloptions) WHERE option_name = 'fillfactor')::float8, 90) AS fillfactor,
         current_setting('block_size')::float8 AS bs, i.indrelid, i.indkey, tn.nspname AS table_schema
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'btree'
    JOIN pg_class tc ON tc.oid = i.indrelid JOIN pg_namespace n ON n.oid = ic.relnamespace JOIN pg_namespace tn ON tn.oid = tc.relnamespace
   WHERE ic.relpages > 1 AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast' AND i.indisvalid
     -- An index smaller than the byte threshold cannot hold that much bloat: left out before
     -- its statistics are looked up (pg_stats checks column privileges on every row it has).
     AND ic.relpages * current_setting('block_size')::float8 >= $1),
w AS (
  SELECT idx.indexrelid, sum((1 - coalesce(st.null_frac, 0)) * st.avg_width)::float8 AS width, bool_and(st.avg_width IS NOT NULL AND k.attnum > 0) AS complete
    FROM idx CROSS JOIN LATERAL unnest(idx.indkey::int2[]) k(attnum)
    LEFT JOIN pg_attribute a ON a.attrelid = idx.indrelid AND a.attnum = k.attnum
    -- LATERAL: looked up by name per column (index scans), never pg_stats whole.
    LEFT JOIN LATERAL (SELECT s.null_frac, s.avg_width FROM pg_stats s
                        WHERE s.schemaname = idx.table_schema AND s.tablename = idx.table AND s.attname = a.attname LIMIT 1) st ON true
   GROUP BY idx.indexrelid),
e AS (
  -- Per entry: 8-byte IndexTupleData + MAXALIGNed data + 4-byte line pointer; per page:
  -- 24-byte header and 16-byte B-tree special space, filled to fillfactor; plus the metapage.
  SELECT idx.*, ceil(idx.reltuples * (12 + 8 * ceil(w.width / 8)) / ((idx.bs - 40) * idx.fillfactor / 100)) + 1 AS expected
    FROM idx JOIN w USING (indexrelid) WHERE w.complete)
SELECT schema, index, "table", relpages * bs AS bytes, greatest(0, relpages - expected) * bs AS bloat_bytes,
       (100 * greatest(0, relpages - expected) / relpages)::float8 AS bloat_pct, 'estimate' AS method
  FROM e WHERE (relpages - expected) * bs >= $1 AND 100 * (relpages - expected) / relpages > $2
 ORDER BY bloat_bytes DESC LIMIT ${LISTED}`;

/**
 * pgstattuple's pgstatindex: the leaf pages' real density against the fillfactor they were
 * built to; for the largest B-tree indexes only.
 */
const preciseSql = (schema: string) => `
WITH idx AS (
  SELECT ic.oid, n.nspname::text AS schema, ic.relname::text AS index, tc.relname::text AS table,
         coalesce((SELECT option_value FROM pg_options_to_table(ic.reloptions) WHERE option_name = 'fillfactor')::float8, 90) AS fillfactor
    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'btree'
    JOIN pg_class tc ON tc.oid = i.indrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
   WHERE ic.relpages > 1 AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast' AND i.indisvalid
     AND ic.relpersistence <> 't' AND ic.relpages * current_setting('block_size')::float8 >= $1
   ORDER BY ic.relpages DESC LIMIT ${PRECISE_LIMIT}),
s AS (SELECT idx.*, st.* FROM idx CROSS JOIN LATERAL ${qualified(schema, 'pgstatindex')}(idx.oid::regclass) st)
SELECT schema, index, "table", index_size::float8 AS bytes,
       (index_size * greatest(0, 1 - avg_leaf_density / fillfactor))::float8 AS bloat_bytes,
       (100 * greatest(0, 1 - avg_leaf_density / fillfactor))::float8 AS bloat_pct, 'pgstattuple' AS method
  FROM s WHERE avg_leaf_density = avg_leaf_density -- NaN for an index with no leaf pages
   AND index_size * (1 - avg_leaf_density / fillfactor) >= $1 AND 100 * (1 - avg_leaf_density / fillfactor) > $2
 ORDER BY 5 DESC LIMIT ${LISTED}`;

export const indexBloatCheck: HealthCheck = {
  name: 'index-bloat',
  async run(c): Promise<CheckResult> {
    const s = c.settings;
    const findings: Finding[] = [];
    let sql = estimateSql;
    if (s.indexBloatMode === 'pgstattuple') {
      const { rows } = await c.db.query<{ schema: string | null }>(`SELECT n.nspname::text AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pgstattuple'`);
      const schema = rows[0]?.schema;
      if (schema) sql = preciseSql(schema);
      else findings.push({ check: 'index-bloat', severity: 'info', message: 'index bloat: DBOPS_INDEX_BLOAT_MODE=pgstattuple but the extension is not installed in this database; estimated from statistics instead', remedy: 'CREATE EXTENSION pgstattuple (on Azure, allow it in the azure.extensions server parameter first)' });
    }
    const { rows } = await c.db.query<BloatRow>(sql, [s.indexBloatWarningBytes, s.indexBloatWarningPercent]);
    for (const r of rows) {
      findings.push({
        check: 'index-bloat',
        severity: 'warning',
        target: `${r.schema}.${r.index}`,
        message: `index ${r.schema}.${r.index} on ${r.table} is about ${round(r.bloat_pct, 0)} % bloat: ${formatBytes(r.bloat_bytes)} of its ${formatBytes(r.bytes)} (${r.method === 'estimate' ? 'estimated from statistics' : 'measured with pgstattuple'})`,
        value: Math.round(r.bloat_bytes),
        threshold: s.indexBloatWarningBytes,
        unit: 'bytes',
        remedy: `REINDEX INDEX CONCURRENTLY ${qualified(r.schema, r.index)}`,
        details: { percent: round(r.bloat_pct, 1), method: r.method, indexBytes: r.bytes },
      });
    }
    if (rows.length === 0) findings.push({ check: 'index-bloat', severity: 'info', message: `no index with more than ${formatBytes(s.indexBloatWarningBytes)} and ${s.indexBloatWarningPercent} % bloat (${sql === estimateSql ? 'estimated from statistics' : 'pgstattuple'})` });
    return { findings, metrics: { 'index-bloat.bytes': rows.reduce((n, r) => n + r.bloat_bytes, 0), 'index-bloat.indexes': rows.length } };
  },
};
