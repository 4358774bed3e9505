import { qualified, type Queryable } from '../../platform/db/sql.js';
import type { Finding, JobDatabase } from '../../shared/job.js';

export interface IndexRow {
  relid: number;
  schema: string;
  name: string;
  table: string;
  /** A partitioned index: its scans and size are its partitions' together. */
  partitioned: boolean;
  method: string;
  unique: boolean;
  primary: boolean;
  valid: boolean;
  backs_constraint: boolean;
  replica_identity: boolean;
  keys: number[];
  opclasses: number[];
  collations: number[];
  options: number[];
  expressions: string | null;
  predicate: string | null;
  scans: number;
  bytes: number;
  definition: string;
  being_built: boolean;
}

const MB = 1024 * 1024;
const mb = (bytes: number) => Math.round((bytes / MB) * 10) / 10;

/**
 * Every index in the user schemas, with scans since the statistics reset. A partition's index
 * that belongs to a partitioned index is folded into it (dropping it alone is refused). Sizes
 * come from the catalog (pages at the last VACUUM/ANALYZE/CREATE INDEX), not pg_relation_size,
 * so the report never waits on a lock another session holds.
 */
export async function listIndexes(db: Queryable): Promise<IndexRow[]> {
  const { rows } = await db.query<IndexRow>(
    `WITH RECURSIVE idx AS (
       SELECT i.indexrelid, i.indrelid, ic.relkind = 'I' AS partitioned
         FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
        WHERE NOT ic.relispartition
     ), tree AS (
       SELECT indexrelid AS root, indexrelid AS member FROM idx
       UNION ALL
       SELECT t.root, inh.inhrelid FROM tree t JOIN pg_inherits inh ON inh.inhparent = t.member
     ), usage AS (
       SELECT t.root, coalesce(sum(s.idx_scan), 0)::float8 AS scans,
              coalesce(sum(c.relpages::float8 * current_setting('block_size')::int), 0)::float8 AS bytes
         FROM tree t JOIN pg_class c ON c.oid = t.member
         LEFT JOIN pg_stat_all_indexes s ON s.indexrelid = t.member
        GROUP BY t.root
     )
     SELECT ic.oid::int8::float8 AS relid, n.nspname AS schema, ic.relname AS name, tc.relname AS "table",
            idx.partitioned, am.amname AS method, i.indisunique AS "unique", i.indisprimary AS "primary", i.indisvalid AS valid,
            EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = ic.oid) AS backs_constraint,
            i.indisreplident AS replica_identity,
            i.indkey::int2[]::int[] AS keys, i.indclass::oid[]::int8[]::float8[] AS opclasses,
            i.indcollation::oid[]::int8[]::float8[] AS collations, i.indoption::int2[]::int[] AS options,
            -- pg_get_expr would lock the table; node trees compare as well once positions are dropped.
            regexp_replace(i.indexprs::text, ':location -?\d+', '', 'g') AS expressions,
            regexp_replace(i.indpred::text, ':location -?\d+', '', 'g') AS predicate,
            u.scans, u.bytes,
            -- pg_get_indexdef would lock the table: a lock-free outline here, the full text later.
            format('%s USING %s (%s)%s', ic.relname, am.amname,
                   (SELECT string_agg(CASE WHEN k.attnum = 0 THEN '(expression)' ELSE quote_ident(a.attname) END, ', ' ORDER BY k.ord)
                      FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                      LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                     WHERE k.ord <= i.indnkeyatts),
                   CASE WHEN i.indpred IS NULL THEN '' ELSE ' WHERE (…)' END) AS definition,
            EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = ic.oid) AS being_built
       FROM idx
       JOIN pg_index i ON i.indexrelid = idx.indexrelid
       JOIN pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_class tc ON tc.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = ic.relnamespace
       JOIN pg_am am ON am.oid = ic.relam
       JOIN usage u ON u.root = idx.indexrelid
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'
      ORDER BY n.nspname, tc.relname, ic.relname`,
  );
  return rows;
}

/**
 * The exact definitions of the indexes a report names (pg_get_indexdef locks the table, so
 * each is read with a short lock timeout; a locked table keeps its outline).
 */
export async function withDefinitions(db: JobDatabase, findings: Finding[]): Promise<Finding[]> {
  for (const f of findings) {
    const relid = f.details?.relid;
    if (typeof relid !== 'number') continue;
    const definition = await db
      .withTransaction(async (client) => {
        await client.query(`SET LOCAL lock_timeout = '200ms'`);
        const { rows } = await client.query<{ def: string | null }>('SELECT pg_get_indexdef($1::int8::oid) AS def', [relid]);
        return rows[0]?.def ?? null;
      })
      .catch(() => null);
    if (definition) f.details = { ...f.details, definition };
  }
  return findings;
}

export function dropStatement(ix: Pick<IndexRow, 'schema' | 'name' | 'partitioned'>): string {
  // PostgreSQL refuses DROP INDEX CONCURRENTLY on a partitioned index.
  return ix.partitioned ? `DROP INDEX ${qualified(ix.schema, ix.name)}` : `DROP INDEX CONCURRENTLY ${qualified(ix.schema, ix.name)}`;
}

const partitionedNote = ' (a partitioned index cannot be dropped concurrently: the statement locks the table and its partitions, run it in a quiet window)';

export interface UnusedIndexOptions {
  minMb: number;
  statsSince: Date | null;
  now: Date;
  /** Days of counting needed before "no scans" means anything. */
  minDays: number;
  /** schema.name of indexes the installation plan requires: reported for review, never with a DROP. */
  planned: ReadonlySet<string>;
}

export function unusedIndexes(indexes: readonly IndexRow[], o: UnusedIndexOptions): Finding[] {
  const since = o.statsSince ? `since ${o.statsSince.toISOString()}` : 'since the statistics were last reset';
  const countedDays = o.statsSince ? (o.now.getTime() - o.statsSince.getTime()) / 86_400_000 : Infinity;
  const candidates = indexes
    .filter((ix) => ix.valid && !ix.being_built && ix.scans === 0 && !ix.unique && !ix.primary && !ix.backs_constraint && !ix.replica_identity)
    .filter((ix) => ix.bytes >= o.minMb * MB);
  if (countedDays < o.minDays) {
    return candidates.length === 0
      ? []
      : [
          {
            check: 'index.unused-too-early',
            severity: 'info',
            message: `${candidates.length} index(es) without scans, but usage has only been counted for ${countedDays < 1 ? `${Math.round(countedDays * 24)} h` : `${countedDays.toFixed(1)} days`} (${since}); unused indexes are reported after ${o.minDays} days`,
            value: Number(countedDays.toFixed(2)),
            threshold: o.minDays,
            unit: 'days',
          },
        ];
  }
  return candidates.map((ix) => {
    const target = `${ix.schema}.${ix.name}`;
    const planned = o.planned.has(target);
    return {
      check: 'index.unused',
      severity: planned ? 'info' : 'warning',
      target,
      message: `index ${target} on ${ix.table} (${mb(ix.bytes)} MB) has not been scanned ${since}; scans on the read replica are not counted here${
        planned ? '; the installation plan requires it (§3.2.1): check the queries it was made for before changing the plan' : ix.partitioned ? partitionedNote : ''
      }`,
      value: Number(mb(ix.bytes)),
      threshold: o.minMb,
      unit: 'MB',
      ...(planned ? {} : { remedy: dropStatement(ix) }),
      details: { relid: ix.relid, bytes: ix.bytes, definition: ix.definition, statsSince: o.statsSince?.toISOString() ?? null },
    } satisfies Finding;
  });
}

const startsWith = <T>(whole: readonly T[], prefix: readonly T[]) => prefix.length <= whole.length && prefix.every((v, i) => whole[i] === v);

/**
 * An index is redundant when another valid index on the same table, of the same method, with
 * the same expressions and predicate, has the same leading columns (same operator classes,
 * collations and orderings). Only B-trees serve a prefix of their columns; other methods
 * count as duplicates only when identical. Unique and primary-key indexes are never the
 * redundant one: they enforce something.
 */
export function duplicateIndexes(indexes: readonly IndexRow[]): Finding[] {
  const usable = indexes.filter((ix) => ix.valid && !ix.being_built);
  const out: Finding[] = [];
  for (const ix of usable) {
    if (ix.unique || ix.primary || ix.backs_constraint || ix.replica_identity) continue;
    const covering = usable.find((other) => {
      if (other.relid === ix.relid || other.schema !== ix.schema || other.table !== ix.table) return false;
      if (other.method !== ix.method || other.expressions !== ix.expressions || other.predicate !== ix.predicate) return false;
      const prefix = ix.method === 'btree';
      const same = (a: readonly number[], b: readonly number[]) => (prefix ? startsWith(a, b) : a.length === b.length && startsWith(a, b));
      if (!same(other.keys, ix.keys) || !same(other.opclasses, ix.opclasses) || !same(other.collations, ix.collations) || !same(other.options, ix.options)) {
        return false;
      }
      // Two identical indexes: report only one of them (the later name), unless the other enforces something.
      const identical = other.keys.length === ix.keys.length;
      return !identical || other.unique || other.primary || ix.name > other.name;
    });
    if (!covering) continue;
    out.push({
      check: 'index.duplicate',
      severity: 'warning',
      target: `${ix.schema}.${ix.name}`,
      message: `index ${ix.schema}.${ix.name} on ${ix.table} is covered by ${covering.name}${ix.partitioned ? partitionedNote : ''}`,
      value: mb(ix.bytes),
      unit: 'MB',
      remedy: dropStatement(ix),
      details: { relid: ix.relid, definition: ix.definition, coveredBy: covering.definition, scans: ix.scans },
    });
  }
  return out;
}

export function invalidIndexes(indexes: readonly IndexRow[]): Finding[] {
  return indexes
    .filter((ix) => !ix.valid && !ix.being_built)
    .map((ix) => ({
      check: 'index.invalid',
      severity: 'warning',
      target: `${ix.schema}.${ix.name}`,
      message: `index ${ix.schema}.${ix.name} on ${ix.table} is invalid (a failed CREATE INDEX CONCURRENTLY?): never used by queries, still updated by every write`,
      remedy: dropStatement(ix),
      details: { relid: ix.relid, definition: ix.definition, rebuildInstead: `REINDEX INDEX CONCURRENTLY ${qualified(ix.schema, ix.name)}` },
    }));
}
