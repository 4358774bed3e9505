import { partitionColumns, toPartitions, type PartitionRow } from '../../platform/db/partitions.js';
import { ident } from '../../platform/db/sql.js';
import { KEY_TYPES, type KeyType } from './periods.js';
import type { TableReport, TableWork } from './table-work.js';

/**
 * What the configured table is: partitioned by RANGE on its key, a plain table (the slow path), or unusable (with a finding why).
 * A partitioned table's partitions come with it (TableWork.partitions() returns them first).
 */
export async function inspectTable(w: TableWork): Promise<TableReport['kind']> {
  const { policy } = w.o;
  // One round trip: the table's shape and, when it is partitioned, its partitions (without sizes:
  // retention reads those of the partitions it removes).
  const { rows } = await w.ctx.db.query<{ oid: number; relkind: string; partkey: string | null; key_type: string | null; columns: string[]; partitions: PartitionRow[] }>(
    `SELECT t.oid, t.relkind, pg_get_partkeydef(t.oid) AS partkey, format_type(a.atttypid, a.atttypmod) AS key_type,
            ARRAY(SELECT x.attname::text FROM pg_attribute x WHERE x.attrelid = t.oid AND x.attnum > 0 AND NOT x.attisdropped ORDER BY x.attnum) AS columns,
            (SELECT coalesce(json_agg(part), '[]') FROM (
               SELECT ${partitionColumns(false)}
                 FROM pg_inherits i
                 JOIN pg_class c ON c.oid = i.inhrelid
                 JOIN pg_namespace cn ON cn.oid = c.relnamespace
                WHERE i.inhparent = t.oid) part) AS partitions
       FROM pg_class t
       JOIN pg_namespace n ON n.oid = t.relnamespace
       LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attname = $3 AND a.attnum > 0 AND NOT a.attisdropped
      WHERE n.nspname = $1 AND t.relname = $2`,
    [policy.schema, policy.table, policy.key],
  );
  const rel = rows[0];
  const problem = (check: string, message: string, remedy?: string) => {
    w.findings.push({ check, severity: 'critical', target: w.target, message, ...(remedy ? { remedy } : {}) });
    return 'unusable' as const;
  };
  if (!rel) return problem('partition.table-missing', `${w.target} does not exist`, 'dbops migrate, or correct DBOPS_PARTITION_TABLES');
  if (!rel.key_type) return problem('partition.key-missing', `${w.target} has no column ${policy.key}`, 'correct the key column in DBOPS_PARTITION_TABLES');
  const keyType = KEY_TYPES.find((t) => t === rel.key_type);
  if (!keyType) {
    return problem('partition.key-type', `${w.target}.${policy.key} is ${rel.key_type}; partition-maintenance handles ${KEY_TYPES.join(' and ')} keys`);
  }
  w.keyType = keyType satisfies KeyType;
  w.columns = rel.columns;
  if (rel.relkind === 'r') return 'unpartitioned';
  if (rel.relkind !== 'p') return problem('partition.not-a-table', `${w.target} is not a table (relkind ${rel.relkind})`);
  const expected = [`RANGE (${policy.key})`, `RANGE (${ident(policy.key)})`];
  if (!rel.partkey || !expected.includes(rel.partkey)) {
    return problem('partition.key-differs', `${w.target} is partitioned ${rel.partkey ?? 'by something else'}, not RANGE (${policy.key})`, 'correct the key column in DBOPS_PARTITION_TABLES');
  }
  w.inspected(toPartitions(policy.schema, policy.table, rel.partitions));
  return 'partitioned';
}
