import { ident, qualified, type Queryable } from '../../platform/db/sql.js';
import { errorMessage } from '../../platform/redact.js';
import { stepTimer, type Finding } from '../job.js';
import { PLAN_TABLES } from '../plan.js';
import type { RestoredCopySettings } from '../restore-servers-settings.js';
import { checkCircuitBreaker, checkIndexes, checkPartitions, checkRoles, checkTables } from './installation.js';

/** How each Product-Change table is compared: rows "created up to" a time, keyed for sampling. */
interface TableSpec {
  table: string;
  created: string;
  /** Rows changed after the restore point legitimately differ from the copy. */
  updated?: string;
  key: string;
  keyType: 'bigint' | 'text';
}

export const VERIFIED_TABLES: readonly TableSpec[] = [
  { table: PLAN_TABLES.history, created: 'created_at', updated: 'updated_at', key: 'id', keyType: 'bigint' },
  { table: PLAN_TABLES.kosLog, created: 'created_at', key: 'id', keyType: 'bigint' },
  { table: PLAN_TABLES.circuitBreaker, created: 'created_at', updated: 'updated_at', key: 'service_name', keyType: 'text' },
];

export interface VerifyOptions {
  schema: string;
  restorePoint: Date;
  /** Rows created within this many minutes before the restore point are not counted. */
  marginMinutes: number;
  tolerance: number;
  sampleRows: number;
  rpoMinutes: number;
}

/** The verification's thresholds as the settings give them (backup-verification's, which the rehearsal shares). */
export function verifyOptionsFrom(s: Pick<RestoredCopySettings, 'verifyMarginMinutes' | 'rowCountTolerance' | 'sampleRows' | 'rpoMinutes'>): Omit<VerifyOptions, 'schema' | 'restorePoint'> {
  return { marginMinutes: s.verifyMarginMinutes, tolerance: s.rowCountTolerance, sampleRows: s.sampleRows, rpoMinutes: s.rpoMinutes };
}

export interface VerifyResult {
  findings: Finding[];
  /** Minutes between production's newest row up to the restore point and the copy's newest row. */
  rpoMinutes: number | null;
  newestRestoredRow: string | null;
  rowCounts: Record<string, { production: number; restored: number }>;
  amcheck: 'checked' | 'unavailable';
  indexesChecked: number;
  sampled: number;
  steps: Record<string, number>;
}

/** Plan 10.2.2 and more: the restored copy has the schema, the rows, sound indexes and the same data. */
export async function verifyRestoredCopy(production: Queryable, copy: Queryable, o: VerifyOptions): Promise<VerifyResult> {
  const findings: Finding[] = [];
  const { steps, timed } = stepTimer();

  // Schema, tables, indexes, partitions, roles (install-verification's checks). Server settings
  // and preloaded extensions are not restored (they are server parameters), so not checked here.
  const install = await timed('installation', async () => {
    const out: Finding[] = [];
    for (const check of [
      () => checkTables(copy, o.schema),
      () => checkIndexes(copy, o.schema),
      () => checkPartitions(copy, o.schema, o.restorePoint),
      () => checkCircuitBreaker(copy, o.schema),
      () => checkRoles(copy, o.schema),
    ]) {
      out.push(...(await check()));
    }
    return out;
  });
  // Next month's partition may legitimately be created after the restore point.
  findings.push(...install.filter((f) => f.check !== 'partition.next-month').map((f) => ({ ...f, check: `restore.install.${f.check}` })));

  const cutoff = new Date(o.restorePoint.getTime() - o.marginMinutes * 60_000);
  const rowCounts: VerifyResult['rowCounts'] = {};
  await timed('rowCounts', async () => {
    for (const spec of VERIFIED_TABLES) {
      const sql = `SELECT count(*)::bigint AS n FROM ${qualified(o.schema, spec.table)} WHERE ${ident(spec.created)} <= $1`;
      const [p, r] = await Promise.all([production.query<{ n: string }>(sql, [cutoff]), copy.query<{ n: string }>(sql, [cutoff])]);
      const prod = Number(p.rows[0]?.n ?? 0);
      const restored = Number(r.rows[0]?.n ?? 0);
      rowCounts[spec.table] = { production: prod, restored };
      const missing = prod - restored;
      if (Math.abs(missing) > o.tolerance) {
        findings.push({
          check: 'restore.row-count',
          severity: 'critical',
          target: `${o.schema}.${spec.table}`,
          message: `${o.schema}.${spec.table}: the restored copy has ${restored} rows created up to ${cutoff.toISOString()}, production has ${prod} (${missing > 0 ? `${missing} missing` : `${-missing} extra`})`,
          value: restored - prod,
          threshold: o.tolerance,
          unit: 'rows',
          details: { production: prod, restored, createdUpTo: cutoff.toISOString() },
        });
      }
    }
  });

  // Effective RPO: how far the copy's newest row trails production's newest row at the restore point.
  const newest = await timed('rpo', async () => {
    const sql = VERIFIED_TABLES.filter((t) => t.table !== PLAN_TABLES.circuitBreaker)
      .map((t) => `SELECT max(${ident(t.created)}) AS t FROM ${qualified(o.schema, t.table)} WHERE ${ident(t.created)} <= $1`)
      .join(' UNION ALL ');
    const q = `SELECT max(t) AS newest FROM (${sql}) s`;
    const [p, r] = await Promise.all([production.query<{ newest: Date | null }>(q, [o.restorePoint]), copy.query<{ newest: Date | null }>(q, [o.restorePoint])]);
    return { production: p.rows[0]?.newest ?? null, restored: r.rows[0]?.newest ?? null };
  });
  let rpoMinutes: number | null = null;
  if (newest.production) {
    const restoredMs = newest.restored?.getTime() ?? 0;
    rpoMinutes = newest.restored ? Math.max(0, Math.round(((newest.production.getTime() - restoredMs) / 60_000) * 10) / 10) : null;
    if (rpoMinutes === null || rpoMinutes > o.rpoMinutes) {
      findings.push({
        check: 'restore.rpo',
        severity: 'critical',
        target: o.schema,
        message:
          rpoMinutes === null
            ? `the restored copy has no rows up to the restore point; production's newest is ${newest.production.toISOString()}`
            : `the restored copy's newest row (${newest.restored!.toISOString()}) trails production's (${newest.production.toISOString()}) by ${rpoMinutes} min, more than the ${o.rpoMinutes} min RPO`,
        value: rpoMinutes,
        threshold: o.rpoMinutes,
        unit: 'min',
      });
    }
  }

  const amcheck = await timed('amcheck', () => checkIndexesWithAmcheck(copy, o.schema));
  findings.push(...amcheck.findings);

  const sampled = await timed('checksums', async () => {
    let n = 0;
    for (const spec of VERIFIED_TABLES) {
      const r = await compareSample(production, copy, o, spec, cutoff);
      n += r.compared;
      if (r.differing.length > 0) {
        findings.push({
          check: 'restore.checksum',
          severity: 'critical',
          target: `${o.schema}.${spec.table}`,
          message: `${o.schema}.${spec.table}: ${r.differing.length} of ${r.compared} sampled rows differ from production (or are missing from the copy)`,
          value: r.differing.length,
          threshold: 0,
          details: { keys: r.differing.slice(0, 20) },
        });
      }
    }
    return n;
  });

  return {
    findings,
    rpoMinutes,
    newestRestoredRow: newest.restored?.toISOString() ?? null,
    rowCounts,
    amcheck: amcheck.status,
    indexesChecked: amcheck.checked,
    sampled,
    steps,
  };
}

/** bt_index_check on every valid B-tree index of the schema's tables (partitions included). */
async function checkIndexesWithAmcheck(copy: Queryable, schema: string): Promise<{ status: 'checked' | 'unavailable'; checked: number; findings: Finding[] }> {
  const available = await copy.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'amcheck'`);
  if (available.rowCount === 0) {
    return { status: 'unavailable', checked: 0, findings: [{ check: 'restore.amcheck', severity: 'info', target: schema, message: 'amcheck is not available on the restored server; index structure not checked' }] };
  }
  try {
    // The copy is ours and deleted after the test, so installing the extension there is harmless.
    await copy.query('CREATE EXTENSION IF NOT EXISTS amcheck');
  } catch (err) {
    return {
      status: 'unavailable',
      checked: 0,
      findings: [{ check: 'restore.amcheck', severity: 'info', target: schema, message: `amcheck could not be installed on the restored server (allow it in azure.extensions): ${errorMessage(err)}` }],
    };
  }
  const { rows } = await copy.query<{ oid: number; name: string }>(
    `SELECT i.indexrelid::int AS oid, n.nspname || '.' || c.relname AS name
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_am am ON am.oid = c.relam
      WHERE n.nspname = $1 AND am.amname = 'btree' AND c.relkind = 'i' AND i.indisvalid AND i.indisready
      ORDER BY c.relname`,
    [schema],
  );
  const findings: Finding[] = [];
  for (const index of rows) {
    try {
      await copy.query('SELECT bt_index_check($1::regclass)', [index.oid]);
    } catch (err) {
      findings.push({ check: 'restore.amcheck', severity: 'critical', target: index.name, message: `index ${index.name} is corrupt on the restored copy: ${errorMessage(err)}`, remedy: `REINDEX INDEX CONCURRENTLY ${index.name} (on production, after checking it there)` });
    }
  }
  return { status: 'checked', checked: rows.length, findings };
}

/** The newest and oldest rows before the cutoff, compared row by row (md5 of the row's text). */
async function compareSample(production: Queryable, copy: Queryable, o: VerifyOptions, spec: TableSpec, cutoff: Date): Promise<{ compared: number; differing: string[] }> {
  if (o.sampleRows <= 0) return { compared: 0, differing: [] };
  const table = qualified(o.schema, spec.table);
  const key = ident(spec.key);
  const half = Math.max(1, Math.ceil(o.sampleRows / 2));
  const notUpdated = spec.updated ? ` AND ${ident(spec.updated)} <= $2` : '';
  const pick = (order: 'ASC' | 'DESC') => `(SELECT ${key}::text AS k, md5(t::text) AS sum FROM ${table} t WHERE ${ident(spec.created)} <= $1${notUpdated} ORDER BY ${key} ${order} LIMIT ${half})`;
  const values = spec.updated ? [cutoff, o.restorePoint] : [cutoff];
  const prod = await production.query<{ k: string; sum: string }>(`${pick('DESC')} UNION ${pick('ASC')}`, values);
  if (prod.rows.length === 0) return { compared: 0, differing: [] };
  const copied = await copy.query<{ k: string; sum: string }>(`SELECT ${key}::text AS k, md5(t::text) AS sum FROM ${table} t WHERE ${key} = ANY($1::${spec.keyType}[])`, [prod.rows.map((r) => r.k)]);
  const bySum = new Map(copied.rows.map((r) => [r.k, r.sum]));
  return { compared: prod.rows.length, differing: prod.rows.filter((r) => bySum.get(r.k) !== r.sum).map((r) => r.k) };
}
