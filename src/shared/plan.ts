/**
 * The installation plan's database baseline (sections 3.1.2, 3.2.1, 4.1, 4.3.1), as data.
 * install-verification checks a server against it; security-audit compares privileges with it.
 * docs/operations-plan.md carries the same numbers for people.
 */
export const PLAN_SCHEMA = 'product_change';

export const PLAN_TABLES = {
  history: 'pc_product_change_history',
  kosLog: 'pc_kos_integration_log',
  circuitBreaker: 'pc_circuit_breaker_state',
} as const;

export interface PlannedIndex {
  name: string;
  table: string;
  /** pg_get_indexdef() from "USING" on, as PostgreSQL 14 prints it. */
  definition: string;
}

export const PLAN_INDEXES: readonly PlannedIndex[] = [
  { name: 'idx_pc_history_line_status_date', table: PLAN_TABLES.history, definition: 'USING btree (line_number, process_status, requested_at DESC)' },
  { name: 'idx_pc_history_customer_date', table: PLAN_TABLES.history, definition: 'USING btree (customer_id, requested_at DESC)' },
  { name: 'idx_pc_history_status_date', table: PLAN_TABLES.history, definition: 'USING btree (process_status, requested_at DESC)' },
  { name: 'idx_pc_history_kos_request_gin', table: PLAN_TABLES.history, definition: 'USING gin (kos_request_data)' },
  { name: 'idx_pc_history_kos_response_gin', table: PLAN_TABLES.history, definition: 'USING gin (kos_response_data)' },
  { name: 'idx_kos_log_request_type_date', table: PLAN_TABLES.kosLog, definition: 'USING btree (request_id, integration_type, created_at DESC)' },
  { name: 'idx_kos_log_type_success_date', table: PLAN_TABLES.kosLog, definition: 'USING btree (integration_type, is_success, created_at DESC)' },
  {
    name: 'idx_kos_log_response_time',
    table: PLAN_TABLES.kosLog,
    definition: 'USING btree (integration_type, response_time_ms DESC, created_at DESC) WHERE (response_time_ms IS NOT NULL)',
  },
];

export type TablePrivilege = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE' | 'TRUNCATE' | 'REFERENCES' | 'TRIGGER';
export const ALL_TABLE_PRIVILEGES: readonly TablePrivilege[] = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'];

export interface PlannedRole {
  name: string;
  connectionLimit: number;
  createdb: boolean;
  createrole: boolean;
  /** Exactly these privileges on each planned table (section 4.1.2). */
  tables: Record<string, readonly TablePrivilege[]>;
  schemaUsage: boolean;
  databaseConnect: boolean;
}

export const PLAN_ROLES: readonly PlannedRole[] = [
  {
    name: 'product_change_app',
    connectionLimit: 150,
    createdb: false,
    createrole: false,
    tables: {
      [PLAN_TABLES.history]: ['SELECT', 'INSERT', 'UPDATE'],
      [PLAN_TABLES.kosLog]: ['SELECT', 'INSERT'],
      [PLAN_TABLES.circuitBreaker]: ['SELECT', 'UPDATE'],
    },
    schemaUsage: true,
    databaseConnect: true,
  },
  {
    name: 'product_change_readonly',
    connectionLimit: 20,
    createdb: false,
    createrole: false,
    tables: {
      [PLAN_TABLES.history]: ['SELECT'],
      [PLAN_TABLES.kosLog]: ['SELECT'],
      [PLAN_TABLES.circuitBreaker]: ['SELECT'],
    },
    schemaUsage: true,
    databaseConnect: true,
  },
  {
    name: 'product_change_admin',
    connectionLimit: 10,
    createdb: true,
    createrole: true,
    tables: {
      [PLAN_TABLES.history]: ALL_TABLE_PRIVILEGES,
      [PLAN_TABLES.kosLog]: ALL_TABLE_PRIVILEGES,
      [PLAN_TABLES.circuitBreaker]: ALL_TABLE_PRIVILEGES,
    },
    schemaUsage: true,
    databaseConnect: true,
  },
];

export type SettingKind = 'bytes' | 'ms' | 'number' | 'text' | 'list-contains';

export interface PlannedServerSetting {
  name: string;
  /** The plan's value, as the plan writes it. */
  expected: string;
  kind: SettingKind;
  section: string;
}

export const PLAN_SERVER_SETTINGS: readonly PlannedServerSetting[] = [
  { name: 'shared_buffers', expected: '4GB', kind: 'bytes', section: '3.1.2' },
  { name: 'effective_cache_size', expected: '12GB', kind: 'bytes', section: '3.1.2' },
  { name: 'work_mem', expected: '32MB', kind: 'bytes', section: '3.1.2' },
  { name: 'maintenance_work_mem', expected: '512MB', kind: 'bytes', section: '3.1.2' },
  { name: 'max_connections', expected: '200', kind: 'number', section: '3.1.2' },
  { name: 'idle_in_transaction_session_timeout', expected: '30min', kind: 'ms', section: '3.1.2' },
  { name: 'checkpoint_completion_target', expected: '0.9', kind: 'number', section: '3.1.2' },
  { name: 'wal_buffers', expected: '16MB', kind: 'bytes', section: '3.1.2' },
  { name: 'max_wal_size', expected: '4GB', kind: 'bytes', section: '3.1.2' },
  { name: 'log_statement', expected: 'all', kind: 'text', section: '3.1.2, 4.3.1' },
  { name: 'log_duration', expected: 'on', kind: 'text', section: '3.1.2, 4.3.1' },
  { name: 'log_min_duration_statement', expected: '1s', kind: 'ms', section: '3.1.2' },
  { name: 'track_activities', expected: 'on', kind: 'text', section: '3.1.2' },
  { name: 'track_counts', expected: 'on', kind: 'text', section: '3.1.2' },
  { name: 'track_functions', expected: 'all', kind: 'text', section: '3.1.2' },
  { name: 'shared_preload_libraries', expected: 'pg_stat_statements', kind: 'list-contains', section: '3.1.2' },
  { name: 'log_connections', expected: 'on', kind: 'text', section: '4.3.1' },
  { name: 'log_disconnections', expected: 'on', kind: 'text', section: '4.3.1' },
  { name: 'log_hostname', expected: 'on', kind: 'text', section: '4.3.1' },
  { name: 'log_line_prefix', expected: '%t [%p]: user=%u,db=%d,app=%a,client=%h ', kind: 'text', section: '4.3.1' },
  { name: 'log_rotation_age', expected: '1d', kind: 'ms', section: '4.3.1' },
  { name: 'log_rotation_size', expected: '100MB', kind: 'bytes', section: '4.3.1' },
  { name: 'ssl', expected: 'on', kind: 'text', section: '2.3.1, 4.2.2' },
  { name: 'ssl_min_protocol_version', expected: 'TLSv1.3', kind: 'text', section: '2.3.1, 4.2.2' },
];

/** The seeded circuit-breaker row (section 10.1.1). */
export const PLAN_CIRCUIT_BREAKER_DEFAULT = { serviceName: 'KOS_SERVICE', state: 'CLOSED' } as const;
