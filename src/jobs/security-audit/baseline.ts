import { ALL_TABLE_PRIVILEGES, PLAN_ROLES, type TablePrivilege } from '../../shared/plan.js';

export type DatabasePrivilege = 'CREATE' | 'CONNECT' | 'TEMPORARY';
export type SchemaPrivilege = 'USAGE' | 'CREATE';
export type SequencePrivilege = 'USAGE' | 'SELECT' | 'UPDATE';

/** What a planned role may hold, and must: PLAN_ROLES plus the rest of the plan's section 4.1. */
export interface RoleBaseline {
  name: string;
  superuser: false;
  bypassrls: false;
  replication: false;
  login: true;
  createdb: boolean;
  createrole: boolean;
  connectionLimit: number;
  /** Exactly these on the database. */
  database: readonly DatabasePrivilege[];
  /** Exactly these on the schema. */
  schema: readonly SchemaPrivilege[];
  /** Exactly these on each planned table. */
  tables: Readonly<Record<string, readonly TablePrivilege[]>>;
  /**
   * At most these on other tables of the schema (partitions, tables added later): the
   * migration's default privileges give them, and access goes through the planned tables.
   */
  otherTables: readonly TablePrivilege[];
  /** Exactly these on every sequence of the schema. */
  sequences: readonly SequencePrivilege[];
}

/** Section 4.1.2 beyond PLAN_ROLES: database and schema privileges, sequences, later tables. */
const SECTION_4_1_2: Record<string, Pick<RoleBaseline, 'database' | 'schema' | 'otherTables' | 'sequences'>> = {
  // GRANT CONNECT …; GRANT USAGE ON SCHEMA …; GRANT USAGE, SELECT ON ALL SEQUENCES …
  product_change_app: { database: ['CONNECT'], schema: ['USAGE'], otherTables: ['SELECT'], sequences: ['USAGE', 'SELECT'] },
  // GRANT CONNECT …; GRANT USAGE ON SCHEMA …; GRANT SELECT ON ALL TABLES …
  product_change_readonly: { database: ['CONNECT'], schema: ['USAGE'], otherTables: ['SELECT'], sequences: [] },
  // GRANT ALL PRIVILEGES ON DATABASE / SCHEMA / ALL TABLES …
  product_change_admin: { database: ['CREATE', 'CONNECT', 'TEMPORARY'], schema: ['USAGE', 'CREATE'], otherTables: ALL_TABLE_PRIVILEGES, sequences: [] },
};

export const ROLE_BASELINE: readonly RoleBaseline[] = PLAN_ROLES.map((r) => ({
  name: r.name,
  superuser: false,
  bypassrls: false,
  replication: false,
  login: true,
  createdb: r.createdb,
  createrole: r.createrole,
  connectionLimit: r.connectionLimit,
  tables: r.tables,
  ...(SECTION_4_1_2[r.name] ?? {
    database: r.databaseConnect ? ['CONNECT'] : [],
    schema: r.schemaUsage ? ['USAGE'] : [],
    otherTables: [],
    sequences: [],
  }),
}));

/** What PUBLIC may hold: PostgreSQL's own default on a database, which the plan leaves as is. */
export const PUBLIC_BASELINE = { database: ['CONNECT', 'TEMPORARY'] as readonly DatabasePrivilege[] };

/**
 * The migration's ALTER DEFAULT PRIVILEGES (db/migrations/003): objects the owner creates later
 * get these, so they are expected, not drift. Keyed by pg_default_acl.defaclobjtype.
 */
export const DEFAULT_PRIVILEGES_BASELINE: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  r: { product_change_readonly: ['SELECT'], product_change_admin: ALL_TABLE_PRIVILEGES, product_change_app: ['SELECT'] },
  S: { product_change_app: ['USAGE', 'SELECT'] },
};

/**
 * Roles the platform manages: PostgreSQL's predefined roles, Azure's administration roles
 * (azure_pg_admin, azuresu, azure_superuser) and its "replication" role for HA and replicas.
 */
export function isPlatformRole(name: string): boolean {
  return /^pg_/.test(name) || /^azure/.test(name) || name === 'replication';
}

/** Predefined roles whose members read or write every table, or reach the server's files. */
export const POWERFUL_PREDEFINED_ROLES = new Set([
  'pg_read_all_data',
  'pg_write_all_data',
  'pg_read_server_files',
  'pg_write_server_files',
  'pg_execute_server_program',
]);
