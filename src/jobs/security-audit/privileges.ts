import { ident, qualified, type Queryable } from '../../platform/db/sql.js';
import type { Finding } from '../../shared/job.js';
import { ALL_TABLE_PRIVILEGES, PLAN_TABLES } from '../../shared/plan.js';
import {
  DEFAULT_PRIVILEGES_BASELINE,
  POWERFUL_PREDEFINED_ROLES,
  PUBLIC_BASELINE,
  ROLE_BASELINE,
  isPlatformRole,
  type RoleBaseline,
} from './baseline.js';

interface RoleRow {
  rolname: string;
  rolsuper: boolean;
  rolcreaterole: boolean;
  rolcreatedb: boolean;
  rolbypassrls: boolean;
  rolreplication: boolean;
  rolcanlogin: boolean;
  rolconnlimit: number;
  valid_until: string | null;
  bootstrap: boolean;
}

interface AclRow {
  object: string;
  kind: 'table' | 'sequence' | 'schema' | 'database';
  parent: string | null;
  owner: string;
  grantee: string; // "PUBLIC" for grantee 0
  grantor: string;
  privilege: string;
  grantable: boolean;
}

const PUBLIC = 'PUBLIC';
const planned = new Map(ROLE_BASELINE.map((r) => [r.name, r]));
const plannedTables = new Set<string>(Object.values(PLAN_TABLES));

export interface DriftOptions {
  schema: string;
  /** Roles left alone besides the built-in exclusions. */
  ignoredRoles: readonly string[];
}

export interface DriftResult {
  findings: Finding[];
  /** Roles whose privileges were compared (for the report's data). */
  rolesCompared: number;
  objectsCompared: number;
}

const grantee = (name: string) => (name === PUBLIC ? 'PUBLIC' : ident(name));

function objectSql(kind: AclRow['kind'], schema: string, name: string): string {
  switch (kind) {
    case 'table':
      return `TABLE ${qualified(schema, name)}`;
    case 'sequence':
      return `SEQUENCE ${qualified(schema, name)}`;
    case 'schema':
      return `SCHEMA ${ident(name)}`;
    case 'database':
      return `DATABASE ${ident(name)}`;
  }
}

const objectLabel = (kind: AclRow['kind'], schema: string, name: string) =>
  kind === 'table' || kind === 'sequence' ? `${kind} ${schema}.${name}` : `${kind} ${name}`;

/**
 * Compares roles, memberships, role attributes and the privileges on the schema's objects, the
 * schema and the database (PUBLIC included) with the plan's baseline. Every difference carries
 * the statement that restores the baseline; nothing is applied.
 */
export async function checkPrivilegeDrift(db: Queryable, o: DriftOptions): Promise<DriftResult> {
  const [{ rows: who }, { rows: roles }, { rows: members }, { rows: acl }, { rows: columns }, { rows: defaults }, { rows: tableAll }] = await Promise.all([
    db.query<{ current_user: string }>('SELECT current_user'),
    db.query<RoleRow>(
      `SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication, rolcanlogin, rolconnlimit,
              rolvaliduntil::text AS valid_until, oid = 10 AS bootstrap
         FROM pg_roles`,
    ),
    db.query<{ role: string; member: string; admin_option: boolean }>(
      `SELECT r.rolname AS role, m.rolname AS member, am.admin_option
         FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member`,
    ),
    db.query<AclRow>(
      `SELECT c.relname AS object, CASE WHEN c.relkind = 'S' THEN 'sequence' ELSE 'table' END AS kind,
              p.relname AS parent, pg_get_userbyid(c.relowner) AS owner,
              CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee,
              pg_get_userbyid(a.grantor) AS grantor, a.privilege_type AS privilege, a.is_grantable AS grantable
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
         LEFT JOIN pg_class p ON p.oid = i.inhparent
         CROSS JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault((CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::"char", c.relowner))) a
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
       UNION ALL
       SELECT n.nspname, 'schema', NULL, pg_get_userbyid(n.nspowner),
              CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
              pg_get_userbyid(a.grantor), a.privilege_type, a.is_grantable
         FROM pg_namespace n CROSS JOIN LATERAL aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
        WHERE n.nspname = $1
       UNION ALL
       SELECT d.datname, 'database', NULL, pg_get_userbyid(d.datdba),
              CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
              pg_get_userbyid(a.grantor), a.privilege_type, a.is_grantable
         FROM pg_database d CROSS JOIN LATERAL aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
        WHERE d.datname = current_database()`,
      [o.schema],
    ),
    db.query<{ object: string; column: string; grantee: string; privilege: string }>(
      `SELECT c.relname AS object, att.attname AS column,
              CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee, a.privilege_type AS privilege
         FROM pg_attribute att
         JOIN pg_class c ON c.oid = att.attrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         CROSS JOIN LATERAL aclexplode(att.attacl) a
        WHERE n.nspname = $1 AND att.attacl IS NOT NULL AND NOT att.attisdropped`,
      [o.schema],
    ),
    db.query<{ owner: string; objtype: string; grantee: string; privilege: string }>(
      `SELECT pg_get_userbyid(d.defaclrole) AS owner, d.defaclobjtype AS objtype,
              CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee, a.privilege_type AS privilege
         FROM pg_default_acl d
         JOIN pg_namespace n ON n.oid = d.defaclnamespace
         CROSS JOIN LATERAL aclexplode(d.defaclacl) a
        WHERE n.nspname = $1 AND a.grantee <> d.defaclrole`,
      [o.schema],
    ),
    // What ALL PRIVILEGES on a table means on this server: its owner's default ACL.
    db.query<{ privilege: string }>(`SELECT a.privilege_type AS privilege FROM aclexplode(acldefault('r', 10)) a`),
  ]);
  const allOnTables = allTablePrivilegesOf(tableAll.map((r) => r.privilege));
  const me = who[0]?.current_user ?? '';
  const byName = new Map(roles.map((r) => [r.rolname, r]));
  const ignored = new Set(o.ignoredRoles);
  const owners = new Set(acl.map((a) => a.owner));
  /** Roles whose privileges are not drift: the platform's, superusers, owners, dbops itself. */
  const exempt = (name: string) =>
    name !== PUBLIC &&
    (ignored.has(name) || (!planned.has(name) && (isPlatformRole(name) || name === me || owners.has(name) || byName.get(name)?.rolsuper === true)));
  const findings: Finding[] = [];

  // Roles and attributes.
  for (const base of ROLE_BASELINE) {
    const role = byName.get(base.name);
    if (!role) {
      findings.push({ check: 'privilege.role-missing', severity: 'critical', target: base.name, message: `role ${base.name} is missing`, remedy: 'dbops migrate' });
      continue;
    }
    findings.push(...attributeDrift(base, role));
  }
  for (const role of roles) {
    if (planned.has(role.rolname) || exempt(role.rolname) || role.bootstrap) continue;
    const extras = (
      [
        ['SUPERUSER', role.rolsuper],
        ['CREATEROLE', role.rolcreaterole],
        ['BYPASSRLS', role.rolbypassrls],
        ['REPLICATION', role.rolreplication],
      ] as const
    ).filter(([, has]) => has);
    for (const [attr] of extras) {
      findings.push({
        check: 'privilege.attribute',
        severity: attr === 'SUPERUSER' || attr === 'BYPASSRLS' ? 'critical' : 'warning',
        target: role.rolname,
        message: `role ${role.rolname}, which the plan does not know, has ${attr}`,
        remedy: `ALTER ROLE ${ident(role.rolname)} NO${attr}`,
      });
    }
  }

  // Memberships in the plan's roles, of the plan's roles, and in the roles that bypass grants.
  for (const m of members) {
    const intoPlanned = planned.has(m.role);
    const ofPlanned = planned.has(m.member);
    const intoPowerful = POWERFUL_PREDEFINED_ROLES.has(m.role);
    if (!intoPlanned && !ofPlanned && !intoPowerful) continue;
    if (!ofPlanned && exempt(m.member)) continue;
    findings.push({
      check: 'privilege.membership',
      severity: m.role === 'product_change_admin' || intoPowerful ? 'critical' : 'warning',
      target: `${m.member} in ${m.role}`,
      message: `${m.member} is a member of ${m.role}${m.admin_option ? ' WITH ADMIN OPTION' : ''}; the plan has no such membership`,
      remedy: `REVOKE ${ident(m.role)} FROM ${ident(m.member)}`,
    });
  }

  // Object privileges.
  type Key = string;
  const held = new Map<Key, { row: AclRow; privileges: Set<string>; grantable: Set<string>; grantors: Set<string> }>();
  const objects = new Map<string, AclRow>();
  for (const row of acl) {
    objects.set(`${row.kind}\u0000${row.object}`, row);
    if (exempt(row.grantee) || row.grantee === row.owner) continue;
    const key = `${row.kind}\u0000${row.object}\u0000${row.grantee}`;
    const entry = held.get(key) ?? { row, privileges: new Set(), grantable: new Set(), grantors: new Set() };
    entry.privileges.add(row.privilege);
    if (row.grantable) entry.grantable.add(row.privilege);
    entry.grantors.add(row.grantor);
    held.set(key, entry);
  }
  const allowedFor = (kind: AclRow['kind'], object: string, parent: string | null, who: string): { allowed: readonly string[]; required: readonly string[] } => {
    const base = planned.get(who);
    if (who === PUBLIC) return { allowed: kind === 'database' ? PUBLIC_BASELINE.database : [], required: [] };
    if (!base) return { allowed: [], required: [] };
    switch (kind) {
      case 'database':
        return { allowed: base.database, required: base.database };
      case 'schema':
        return { allowed: base.schema, required: base.schema };
      case 'sequence':
        return { allowed: base.sequences, required: base.sequences };
      case 'table': {
        if (plannedTables.has(object)) return { allowed: allOnTables(base.tables[object] ?? []), required: base.tables[object] ?? [] };
        const viaParent = parent && plannedTables.has(parent) ? (base.tables[parent] ?? []) : [];
        return { allowed: allOnTables([...new Set([...viaParent, ...base.otherTables])]), required: [] };
      }
    }
  };
  for (const { row, privileges, grantable, grantors } of held.values()) {
    const { allowed } = allowedFor(row.kind, row.object, row.parent, row.grantee);
    const extra = [...privileges].filter((p) => !allowed.includes(p)).sort();
    const on = objectSql(row.kind, o.schema, row.object);
    const label = objectLabel(row.kind, o.schema, row.object);
    if (extra.length > 0) {
      findings.push({
        check: 'privilege.extra',
        severity: 'critical',
        target: `${row.grantee} on ${label}`,
        message: `${row.grantee === PUBLIC ? 'PUBLIC' : row.grantee} has ${extra.join(', ')} on ${label}; the plan does not grant ${extra.length > 1 ? 'them' : 'it'}`,
        value: extra.join(', '),
        threshold: allowed.join(', ') || 'nothing',
        remedy: `REVOKE ${extra.join(', ')} ON ${on} FROM ${grantee(row.grantee)}`,
        details: { grantedBy: [...grantors].sort() },
      });
    }
    const withOption = [...grantable].filter((p) => allowed.includes(p)).sort();
    if (withOption.length > 0) {
      findings.push({
        check: 'privilege.grant-option',
        severity: 'warning',
        target: `${row.grantee} on ${label}`,
        message: `${row.grantee} may pass on ${withOption.join(', ')} on ${label} (WITH GRANT OPTION); the plan grants none`,
        remedy: `REVOKE GRANT OPTION FOR ${withOption.join(', ')} ON ${on} FROM ${grantee(row.grantee)}`,
      });
    }
  }
  for (const base of ROLE_BASELINE) {
    if (!byName.has(base.name)) continue;
    for (const row of objects.values()) {
      const { required } = allowedFor(row.kind, row.object, row.parent, base.name);
      if (required.length === 0 || row.owner === base.name) continue;
      const have = held.get(`${row.kind}\u0000${row.object}\u0000${base.name}`)?.privileges ?? new Set<string>();
      const missing = required.filter((p) => !have.has(p));
      if (missing.length === 0) continue;
      const label = objectLabel(row.kind, o.schema, row.object);
      findings.push({
        check: 'privilege.missing',
        severity: 'warning',
        target: `${base.name} on ${label}`,
        message: `${base.name} lacks ${missing.join(', ')} on ${label}, which the plan grants`,
        value: [...have].sort().join(', ') || 'nothing',
        threshold: required.join(', '),
        remedy: `GRANT ${missing.join(', ')} ON ${objectSql(row.kind, o.schema, row.object)} TO ${ident(base.name)}`,
      });
    }
  }

  // Column privileges: the plan grants none.
  for (const c of columns) {
    if (exempt(c.grantee)) continue;
    findings.push({
      check: 'privilege.extra',
      severity: 'critical',
      target: `${c.grantee} on column ${o.schema}.${c.object}.${c.column}`,
      message: `${c.grantee} has ${c.privilege} on column ${o.schema}.${c.object}.${c.column}; the plan grants no column privileges`,
      remedy: `REVOKE ${c.privilege} (${ident(c.column)}) ON TABLE ${qualified(o.schema, c.object)} FROM ${grantee(c.grantee)}`,
    });
  }

  // Default privileges beyond the migration's.
  for (const d of defaults) {
    if (exempt(d.grantee)) continue;
    const listed = DEFAULT_PRIVILEGES_BASELINE[d.objtype]?.[d.grantee] ?? [];
    const expected = d.objtype === 'r' ? allOnTables(listed) : listed;
    if (expected.includes(d.privilege)) continue;
    const objects = d.objtype === 'r' ? 'TABLES' : d.objtype === 'S' ? 'SEQUENCES' : d.objtype === 'f' ? 'FUNCTIONS' : d.objtype === 'T' ? 'TYPES' : 'SCHEMAS';
    findings.push({
      check: 'privilege.default-extra',
      severity: 'warning',
      target: `${d.grantee} on future ${objects.toLowerCase()} of ${d.owner} in ${o.schema}`,
      message: `${objects.toLowerCase()} ${d.owner} creates in ${o.schema} will grant ${d.privilege} to ${d.grantee}; the plan does not`,
      remedy: `ALTER DEFAULT PRIVILEGES FOR ROLE ${ident(d.owner)} IN SCHEMA ${ident(o.schema)} REVOKE ${d.privilege} ON ${objects} FROM ${grantee(d.grantee)}`,
    });
  }

  return { findings, rolesCompared: roles.length, objectsCompared: objects.size };
}

/**
 * The plan grants ALL PRIVILEGES on tables, and the baseline lists what that meant on 14. Newer
 * servers add privileges to ALL (MAINTAIN from 17): a list holding all of the baseline's then
 * allows the server's own too, read from the catalog, not guessed from the version. They are
 * allowed, not required: grants made on 14 and carried over by an upgrade do not have them.
 */
function allTablePrivilegesOf(server: readonly string[]): (listed: readonly string[]) => readonly string[] {
  return (listed) => (ALL_TABLE_PRIVILEGES.every((p) => listed.includes(p)) ? [...new Set([...listed, ...server])] : listed);
}

function attributeDrift(base: RoleBaseline, role: RoleRow): Finding[] {
  const out: Finding[] = [];
  const flag = (attr: string, want: boolean, have: boolean, severity: Finding['severity']) => {
    if (want === have) return;
    out.push({
      check: 'privilege.attribute',
      severity,
      target: base.name,
      message: `${base.name} ${have ? 'has' : 'lacks'} ${attr}; the plan says ${want ? attr : `NO${attr}`}`,
      remedy: `ALTER ROLE ${ident(base.name)} ${want ? '' : 'NO'}${attr}`,
    });
  };
  flag('SUPERUSER', base.superuser, role.rolsuper, 'critical');
  flag('BYPASSRLS', base.bypassrls, role.rolbypassrls, 'critical');
  flag('REPLICATION', base.replication, role.rolreplication, 'warning');
  flag('CREATEROLE', base.createrole, role.rolcreaterole, 'warning');
  flag('CREATEDB', base.createdb, role.rolcreatedb, 'warning');
  flag('LOGIN', base.login, role.rolcanlogin, 'critical');
  if (role.rolconnlimit !== base.connectionLimit) {
    out.push({
      check: 'privilege.attribute',
      severity: 'warning',
      target: base.name,
      message: `${base.name} has connection limit ${role.rolconnlimit}; the plan says ${base.connectionLimit}`,
      value: role.rolconnlimit,
      threshold: base.connectionLimit,
      remedy: `ALTER ROLE ${ident(base.name)} CONNECTION LIMIT ${base.connectionLimit}`,
    });
  }
  // The plan creates its roles VALID UNTIL 'infinity'; no date (NULL) means the same.
  if (role.valid_until !== null && role.valid_until !== 'infinity') {
    out.push({
      check: 'privilege.attribute',
      severity: 'warning',
      target: base.name,
      message: `${base.name}'s password is valid until ${role.valid_until}; the plan says infinity (rotation, not expiry, retires passwords)`,
      value: role.valid_until,
      threshold: 'infinity',
      remedy: `ALTER ROLE ${ident(base.name)} VALID UNTIL 'infinity'`,
    });
  }
  return out;
}
