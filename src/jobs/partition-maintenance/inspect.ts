import { ident } from '../../platform/db/sql.js';
import { KEY_TYPES, type KeyType } from './periods.js';
import type { TableReport, TableWork } from './table-work.js';

/** What the configured table is: partitioned by RANGE on its key, a plain table (the slow path), or unusable (with a finding why). */
export async function inspectTable(w: TableWork): Promise<TableReport['kind']> {
  const { policy } = w.o;
  const { rows } = await w.ctx.db.query<{ oid: number; relkind: string; partkey: string | null; key_type: string | null; columns: string[] }>(
    `SELECT c.oid, c.relkind, pg_get_partkeydef(c.oid) AS partkey, format_type(a.atttypid, a.atttypmod) AS key_type,
            ARRAY(SELECT x.attname::text FROM pg_attribute x WHERE x.attrelid = c.oid AND x.attnum > 0 AND NOT x.attisdropped ORDER BY x.attnum) AS columns
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = $3 AND a.attnum > 0 AND NOT a.attisdropped
      WHERE n.nspname = $1 AND c.relname = $2`,
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
  return 'partitioned';
}
