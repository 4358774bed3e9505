import type { Queryable } from './sql.js';

export interface PartitionInfo {
  schema: string;
  name: string;
  /** Inclusive lower bound; null for MINVALUE or a default partition. */
  from: Date | null;
  /** Exclusive upper bound; null for MAXVALUE or a default partition. */
  to: Date | null;
  isDefault: boolean;
  /** Left by an interrupted DETACH ... CONCURRENTLY. */
  detachPending: boolean;
  /** Planner estimate, cheap to read. */
  estimatedRows: number;
  /** pg_total_relation_size; 0 when listed without sizes. */
  bytes: number;
  bound: string;
}

const boundRe = /^FOR VALUES FROM \((.+)\) TO \((.+)\)$/;

function parseBoundValue(text: string): Date | null {
  const v = text.trim();
  if (v === 'MINVALUE' || v === 'MAXVALUE') return null;
  const unquoted = v.replace(/^'(.*)'$/, '$1');
  const d = new Date(unquoted.includes('T') ? unquoted : unquoted.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'));
  if (Number.isNaN(d.getTime())) throw new Error(`cannot read partition bound value ${text}`);
  return d;
}

/** One partition as the catalog gives it (PARTITION_COLUMNS, or the same keys from json_build_object). */
export interface PartitionRow {
  schema: string;
  name: string;
  bound: string;
  detach_pending: boolean;
  estimated_rows: string | number;
  bytes: string | number;
}

/**
 * The select list for the partitions of a parent `p` (pg_inherits i, pg_class c, pg_namespace cn),
 * with each partition's size only when `sizes` is true: pg_total_relation_size opens every
 * partition's files and indexes, the most expensive part of the query on a cold session.
 */
export const partitionColumns = (sizes: boolean) =>
  `cn.nspname AS schema, c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound,
            i.inhdetachpending AS detach_pending,
            greatest(c.reltuples, 0)::bigint AS estimated_rows,
            ${sizes ? 'pg_total_relation_size(c.oid)' : '0'} AS bytes`;

/** Partitions of a range-partitioned table on a time column, oldest first. */
export async function listPartitions(db: Queryable, schema: string, table: string, options: { sizes?: boolean } = {}): Promise<PartitionInfo[]> {
  // The session runs in UTC (see poolConfig), so bounds print with +00.
  const { rows } = await db.query<PartitionRow>(
    `SELECT ${partitionColumns(options.sizes ?? true)}
       FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid
       JOIN pg_namespace cn ON cn.oid = c.relnamespace
       JOIN pg_class p ON p.oid = i.inhparent
       JOIN pg_namespace pn ON pn.oid = p.relnamespace
      WHERE pn.nspname = $1 AND p.relname = $2`,
    [schema, table],
  );
  return toPartitions(schema, table, rows);
}

/** Reads the bounds of catalog rows (listPartitions' query), oldest first; `bytes` is 0 where sizes were not read. */
export function toPartitions(schema: string, table: string, rows: readonly PartitionRow[]): PartitionInfo[] {
  return rows
    .map((r) => {
      const isDefault = r.bound === 'DEFAULT';
      const m = isDefault ? null : boundRe.exec(r.bound);
      if (!isDefault && !m) throw new Error(`${schema}.${table}: partition ${r.name} has a bound dbops cannot read: ${r.bound}`);
      return {
        schema: r.schema,
        name: r.name,
        from: m ? parseBoundValue(m[1]!) : null,
        to: m ? parseBoundValue(m[2]!) : null,
        isDefault,
        detachPending: r.detach_pending,
        estimatedRows: Number(r.estimated_rows),
        bytes: Number(r.bytes),
        bound: r.bound,
      };
    })
    .sort((a, b) => (a.from?.getTime() ?? -Infinity) - (b.from?.getTime() ?? -Infinity));
}

/** First instant of the UTC month containing `d`, shifted by `offset` months. */
export function monthStart(d: Date, offset = 0): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + offset, 1));
}

/** The conventional name of a monthly partition: <table>_pYYYY_MM. */
export function monthlyPartitionName(table: string, month: Date): string {
  return `${table}_p${month.getUTCFullYear()}_${String(month.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** True when the partitions together cover [from, to) without a gap. */
export function covers(partitions: readonly PartitionInfo[], from: Date, to: Date): boolean {
  let cursor = from.getTime();
  for (const p of partitions.filter((x) => !x.isDefault && !x.detachPending)) {
    const lo = p.from?.getTime() ?? -Infinity;
    const hi = p.to?.getTime() ?? Infinity;
    if (lo <= cursor && hi > cursor) cursor = hi;
    if (cursor >= to.getTime()) return true;
  }
  return cursor >= to.getTime();
}
