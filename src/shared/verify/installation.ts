import { covers, listPartitions, monthStart } from '../../platform/db/partitions.js';
import { ident, qualified, type Queryable } from '../../platform/db/sql.js';
import type { Finding } from '../job.js';
import {
  ALL_TABLE_PRIVILEGES,
  PLAN_CIRCUIT_BREAKER_DEFAULT,
  PLAN_INDEXES,
  PLAN_ROLES,
  PLAN_SERVER_SETTINGS,
  PLAN_TABLES,
  type PlannedServerSetting,
} from '../plan.js';

/**
 * The installation plan's checks (section 10.1), each a function of a database session, so the
 * same checks run against production (install-verification) and a restored copy
 * (backup-verification).
 */
export type VerifyDatabase = Queryable;

export async function checkTables(db: VerifyDatabase, schema: string): Promise<Finding[]> {
  const { rows } = await db.query<{ relname: string; relkind: string }>(
    `SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')`,
    [schema],
  );
  const found = new Map(rows.map((r) => [r.relname, r.relkind]));
  const out: Finding[] = [];
  for (const table of Object.values(PLAN_TABLES)) {
    if (!found.has(table)) {
      out.push({ check: 'table.missing', severity: 'critical', target: `${schema}.${table}`, message: `table ${schema}.${table} is missing`, remedy: 'dbops migrate' });
    }
  }
  if (found.has(PLAN_TABLES.kosLog) && found.get(PLAN_TABLES.kosLog) !== 'p') {
    out.push({
      check: 'table.not-partitioned',
      severity: 'critical',
      target: `${schema}.${PLAN_TABLES.kosLog}`,
      message: `${schema}.${PLAN_TABLES.kosLog} is not partitioned; the plan keeps it in monthly partitions`,
    });
  }
  return out;
}

export async function checkIndexes(db: VerifyDatabase, schema: string): Promise<Finding[]> {
  const { rows } = await db.query<{ indexname: string; tablename: string; def: string; valid: boolean }>(
    `SELECT ic.relname AS indexname, tc.relname AS tablename, pg_get_indexdef(ic.oid) AS def, i.indisvalid AS valid
       FROM pg_index i
       JOIN pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_class tc ON tc.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = ic.relnamespace
      WHERE n.nspname = $1`,
    [schema],
  );
  const byName = new Map(rows.map((r) => [r.indexname, r]));
  const out: Finding[] = [];
  for (const planned of PLAN_INDEXES) {
    const target = `${schema}.${planned.name}`;
    const actual = byName.get(planned.name);
    if (!actual) {
      out.push({ check: 'index.missing', severity: 'critical', target, message: `index ${planned.name} on ${planned.table} is missing`, threshold: planned.definition });
      continue;
    }
    const using = actual.def.slice(actual.def.indexOf(' USING ') + 1);
    if (actual.tablename !== planned.table || using !== planned.definition) {
      out.push({
        check: 'index.definition',
        severity: 'warning',
        target,
        message: `index ${planned.name} differs from the plan`,
        value: `${actual.tablename} ${using}`,
        threshold: `${planned.table} ${planned.definition}`,
      });
    }
    if (!actual.valid) {
      out.push({
        check: 'index.invalid',
        severity: 'critical',
        target,
        message: `index ${planned.name} is invalid (a failed CREATE INDEX CONCURRENTLY?)`,
        remedy: `REINDEX INDEX CONCURRENTLY ${qualified(schema, planned.name)}`,
      });
    }
  }
  return out;
}

export async function checkPartitions(db: VerifyDatabase, schema: string, now: Date): Promise<Finding[]> {
  const partitions = await listPartitions(db, schema, PLAN_TABLES.kosLog);
  const out: Finding[] = [];
  const target = `${schema}.${PLAN_TABLES.kosLog}`;
  if (!covers(partitions, monthStart(now), monthStart(now, 1))) {
    out.push({
      check: 'partition.current-month',
      severity: 'critical',
      target,
      message: `no partition of ${PLAN_TABLES.kosLog} covers the current month: inserts fail`,
      remedy: 'dbops run partition-maintenance',
    });
  }
  if (!covers(partitions, monthStart(now, 1), monthStart(now, 2))) {
    out.push({
      check: 'partition.next-month',
      severity: 'warning',
      target,
      message: `no partition of ${PLAN_TABLES.kosLog} covers next month yet`,
      remedy: 'dbops run partition-maintenance',
    });
  }
  const def = partitions.find((p) => p.isDefault);
  if (def) {
    out.push({ check: 'partition.default', severity: 'warning', target: `${def.schema}.${def.name}`, message: 'a default partition exists; the plan has none' });
  }
  return out;
}

export async function checkCircuitBreaker(db: VerifyDatabase, schema: string): Promise<Finding[]> {
  const { rows } = await db.query<{ state: string }>(
    `SELECT state FROM ${qualified(schema, PLAN_TABLES.circuitBreaker)} WHERE service_name = $1`,
    [PLAN_CIRCUIT_BREAKER_DEFAULT.serviceName],
  );
  if (rows.length === 0) {
    return [
      {
        check: 'circuit-breaker.default-row',
        severity: 'warning',
        target: `${schema}.${PLAN_TABLES.circuitBreaker}`,
        message: `the ${PLAN_CIRCUIT_BREAKER_DEFAULT.serviceName} circuit-breaker row is missing`,
        remedy: `INSERT INTO ${qualified(schema, PLAN_TABLES.circuitBreaker)} (service_name, state) VALUES ('${PLAN_CIRCUIT_BREAKER_DEFAULT.serviceName}', 'CLOSED')`,
      },
    ];
  }
  return [];
}

export async function checkRoles(db: VerifyDatabase, schema: string): Promise<Finding[]> {
  const out: Finding[] = [];
  const { rows: roles } = await db.query<{ rolname: string; rolconnlimit: number; rolcreatedb: boolean; rolcreaterole: boolean; rolcanlogin: boolean }>(
    `SELECT rolname, rolconnlimit, rolcreatedb, rolcreaterole, rolcanlogin FROM pg_roles WHERE rolname = ANY($1)`,
    [PLAN_ROLES.map((r) => r.name)],
  );
  const { rows: grants } = await db.query<{ grantee: string; table_name: string; privilege: string }>(
    `SELECT r.rolname AS grantee, c.relname AS table_name, a.privilege_type AS privilege
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       CROSS JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
       JOIN pg_roles r ON r.oid = a.grantee
      WHERE n.nspname = $1 AND c.relname = ANY($2)`,
    [schema, Object.values(PLAN_TABLES)],
  );
  const { rows: access } = await db.query<{ rolname: string; usage: boolean; connect: boolean; db: string }>(
    `SELECT rolname, current_database() AS db, has_schema_privilege(rolname, $1, 'USAGE') AS usage,
            has_database_privilege(rolname, current_database(), 'CONNECT') AS connect
       FROM pg_roles WHERE rolname = ANY($2)`,
    [schema, PLAN_ROLES.map((r) => r.name)],
  );
  for (const planned of PLAN_ROLES) {
    const role = roles.find((r) => r.rolname === planned.name);
    if (!role) {
      out.push({ check: 'role.missing', severity: 'critical', target: planned.name, message: `role ${planned.name} is missing`, remedy: 'dbops migrate' });
      continue;
    }
    if (role.rolconnlimit !== planned.connectionLimit) {
      out.push({
        check: 'role.connection-limit',
        severity: 'warning',
        target: planned.name,
        message: `${planned.name} has connection limit ${role.rolconnlimit}, the plan says ${planned.connectionLimit}`,
        value: role.rolconnlimit,
        threshold: planned.connectionLimit,
        remedy: `ALTER ROLE ${ident(planned.name)} CONNECTION LIMIT ${planned.connectionLimit}`,
      });
    }
    for (const [attr, want, have] of [
      ['CREATEDB', planned.createdb, role.rolcreatedb],
      ['CREATEROLE', planned.createrole, role.rolcreaterole],
    ] as const) {
      if (want !== have) {
        out.push({
          check: 'role.attribute',
          severity: 'warning',
          target: planned.name,
          message: `${planned.name} ${have ? 'has' : 'lacks'} ${attr}`,
          remedy: `ALTER ROLE ${ident(planned.name)} ${want ? '' : 'NO'}${attr}`,
        });
      }
    }
    const acc = access.find((a) => a.rolname === planned.name);
    if (planned.schemaUsage && !acc?.usage) {
      out.push({ check: 'grant.missing', severity: 'critical', target: `${planned.name} on schema ${schema}`, message: `${planned.name} lacks USAGE on schema ${schema}`, remedy: `GRANT USAGE ON SCHEMA ${ident(schema)} TO ${ident(planned.name)}` });
    }
    if (planned.databaseConnect && !acc?.connect) {
      out.push({ check: 'grant.missing', severity: 'critical', target: `${planned.name} on database`, message: `${planned.name} cannot CONNECT to the database`, remedy: `GRANT CONNECT ON DATABASE ${ident(acc?.db ?? 'product_change_db')} TO ${ident(planned.name)}` });
    }
    for (const [table, wanted] of Object.entries(planned.tables)) {
      const have = new Set(grants.filter((g) => g.grantee === planned.name && g.table_name === table).map((g) => g.privilege));
      const missing = wanted.filter((w) => !have.has(w));
      if (missing.length > 0) {
        out.push({
          check: 'grant.missing',
          severity: 'critical',
          target: `${planned.name} on ${schema}.${table}`,
          message: `${planned.name} lacks ${missing.join(', ')} on ${schema}.${table}`,
          remedy: `GRANT ${missing.join(', ')} ON TABLE ${qualified(schema, table)} TO ${ident(planned.name)}`,
        });
      }
      // The application never deletes (least privilege, section 4.1.2).
      const forbidden = ALL_TABLE_PRIVILEGES.filter((x) => !wanted.includes(x) && have.has(x) && x === 'DELETE');
      if (forbidden.length > 0) {
        out.push({
          check: 'grant.forbidden',
          severity: 'critical',
          target: `${planned.name} on ${schema}.${table}`,
          message: `${planned.name} has DELETE on ${schema}.${table}; the plan forbids it`,
          remedy: `REVOKE DELETE ON TABLE ${qualified(schema, table)} FROM ${ident(planned.name)}`,
        });
      }
    }
  }
  return out;
}

export async function checkExtensions(db: VerifyDatabase): Promise<Finding[]> {
  const { rows } = await db.query<{ installed: boolean; preloaded: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS installed,
            'pg_stat_statements' = ANY(string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ',')) AS preloaded`,
  );
  const r = rows[0];
  const out: Finding[] = [];
  if (!r?.installed) {
    out.push({ check: 'extension.pg_stat_statements', severity: 'warning', target: 'pg_stat_statements', message: 'pg_stat_statements is not installed in this database', remedy: 'CREATE EXTENSION pg_stat_statements' });
  } else if (!r.preloaded) {
    out.push({
      check: 'extension.pg_stat_statements',
      severity: 'warning',
      target: 'pg_stat_statements',
      message: 'pg_stat_statements is installed but not in shared_preload_libraries, so it collects nothing',
    });
  }
  return out;
}

const byteUnits: Record<string, number> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };
const msUnits: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** Converts "4GB" / "30min" (plan style) or pg_settings (setting, unit) pairs to one base. */
export function toBase(value: string, unit: string | null, kind: 'bytes' | 'ms'): number | null {
  const table = kind === 'bytes' ? byteUnits : msUnits;
  if (unit) {
    const m = /^(\d*)\s*([a-zA-Z]+)$/.exec(unit);
    if (!m) return null;
    const mult = (m[1] ? Number(m[1]) : 1) * (table[m[2]!] ?? NaN);
    return Number(value) * mult;
  }
  const m = /^(-?\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(value.trim());
  if (!m) return null;
  const u = m[2] || (kind === 'bytes' ? 'B' : 'ms');
  return Number(m[1]) * (table[u] ?? NaN);
}

function settingMatches(planned: PlannedServerSetting, setting: string, unit: string | null): boolean {
  switch (planned.kind) {
    case 'bytes':
    case 'ms':
      return toBase(setting, unit, planned.kind) === toBase(planned.expected, null, planned.kind);
    case 'number':
      return Number(setting) === Number(planned.expected);
    case 'list-contains':
      return setting.split(',').map((s) => s.trim()).includes(planned.expected);
    case 'text':
      return setting === planned.expected;
  }
}

export async function checkServerSettings(db: VerifyDatabase, severity: 'info' | 'warning'): Promise<Finding[]> {
  // Static settings (shared_buffers, wal_buffers, max_connections, shared_preload_libraries) take
  // effect only at a restart; until then pg_settings shows the running value and pending_restart.
  const { rows } = await db.query<{ name: string; setting: string; unit: string | null; pending_restart: boolean }>(
    'SELECT name, setting, unit, pending_restart FROM pg_settings WHERE name = ANY($1) OR pending_restart',
    [PLAN_SERVER_SETTINGS.map((s) => s.name)],
  );
  const out: Finding[] = [];
  for (const pending of rows.filter((r) => r.pending_restart)) {
    out.push({
      check: 'setting.pendingRestart',
      severity: 'warning',
      target: pending.name,
      message: `${pending.name} was changed but takes effect only after a server restart (running value ${pending.setting}${pending.unit ? ` ${pending.unit}` : ''})`,
      value: pending.setting,
      unit: pending.unit ?? undefined,
      remedy: 'restart the server in a maintenance window (az postgres flexible-server restart), as the azd postprovision hook does',
    });
  }
  for (const planned of PLAN_SERVER_SETTINGS) {
    const actual = rows.find((r) => r.name === planned.name);
    if (!actual) {
      out.push({ check: 'setting.unavailable', severity: 'info', target: planned.name, message: `${planned.name} is not exposed by this server`, threshold: planned.expected });
      continue;
    }
    if (!settingMatches(planned, actual.setting, actual.unit)) {
      out.push({
        check: 'setting.differs',
        severity,
        target: planned.name,
        message: `${planned.name} is ${actual.setting}${actual.unit ? ` (unit ${actual.unit})` : ''}; the plan (section ${planned.section}) sets ${planned.expected}`,
        value: actual.setting,
        threshold: planned.expected,
        unit: actual.unit ?? undefined,
      });
    }
  }
  return out;
}
