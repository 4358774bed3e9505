import { z } from 'zod';
import { PLAN_SCHEMA, PLAN_TABLES } from '../../shared/plan.js';
import { bool, int, optionalString, optionalUrl, setting, type SettingsOf } from '../../platform/settings.js';

export const INTERVALS = ['month', 'day'] as const;
export type Interval = (typeof INTERVALS)[number];

/** One table the job keeps: partitions ahead, retention behind. Counts are in `interval`s. */
export interface TablePolicy {
  schema: string;
  table: string;
  key: string;
  interval: Interval;
  retention: number;
  premake: number;
}

const identifier = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;
const TABLE_FORMAT = 'schema.table:key_column:month|day:retention[:premake]';

const tableEntry = z.string().transform((entry, ctx) => {
  const fail = (why: string) => {
    ctx.addIssue({ code: 'custom', message: `"${entry}": ${why}; write each entry as ${TABLE_FORMAT}, e.g. product_change.api_audit:created_at:month:24` });
    return z.NEVER;
  };
  const parts = entry.split(':').map((p) => p.trim());
  if (parts.length < 4 || parts.length > 5) return fail(`expected 4 or 5 fields separated by ":", found ${parts.length}`);
  const [name = '', key = '', interval = '', retention = '', premake] = parts;
  const [schema, table, extra] = name.split('.');
  if (!schema || !table || extra !== undefined) return fail('the table must be written schema.table');
  for (const id of [schema, table, key]) if (!identifier.test(id)) return fail(`"${id}" is not a plain identifier (letters, digits, _; at most 63)`);
  if (!(INTERVALS as readonly string[]).includes(interval)) return fail(`interval "${interval}" is not one of ${INTERVALS.join(', ')}`);
  const count = (text: string, what: string, min: number) => {
    const n = Number(text);
    return Number.isInteger(n) && n >= min && n <= 10_000 ? n : fail(`${what} "${text}" must be a whole number from ${min} to 10000`);
  };
  const retain = count(retention, 'retention', 1);
  const ahead = premake === undefined ? undefined : count(premake, 'premake', 0);
  return { schema, table, key, interval: interval as Interval, retention: retain, premake: ahead };
});

const tableList = z
  .string()
  .optional()
  .transform((v) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean))
  .pipe(z.array(tableEntry));

export const partitionSettings = {
  retentionMonths: setting({
    env: 'DBOPS_PARTITION_RETENTION_MONTHS',
    doc: 'Months of integration logs kept: partitions whose whole range is older are detached and dropped.',
    default: '12',
    plan: '8.3.1',
    schema: int(1, 1200),
  }),
  premakeMonths: setting({
    env: 'DBOPS_PARTITION_PREMAKE_MONTHS',
    doc: 'Monthly partitions kept ready ahead of the current month (counted from today, not from the newest row).',
    default: '3',
    schema: int(1, 120),
  }),
  minAhead: setting({
    env: 'DBOPS_PARTITION_MIN_AHEAD',
    doc: 'Warn when fewer future partitions than this exist after the run (in each table\'s interval).',
    default: '2',
    schema: int(0, 120),
  }),
  lockTimeoutMs: setting({
    env: 'DBOPS_PARTITION_LOCK_TIMEOUT_MS',
    doc: 'lock_timeout of each partition DDL statement: the longest the service can queue behind one attempt.',
    default: '2000',
    schema: int(10, 60_000),
  }),
  ddlRetries: setting({
    env: 'DBOPS_PARTITION_DDL_RETRIES',
    doc: 'Retries of a DDL statement that hit lock_timeout, with back-off from 100 ms doubling (max 5 s).',
    default: '6',
    schema: int(0, 50),
  }),
  blockerWaitSeconds: setting({
    env: 'DBOPS_PARTITION_BLOCKER_WAIT_SECONDS',
    doc: 'Before a DDL step, how long to wait for sessions that would block it (idle in transaction or open longer than the lock timeout) to finish before trying anyway.',
    default: '60',
    schema: int(0, 3600),
  }),
  tables: setting({
    env: 'DBOPS_PARTITION_TABLES',
    doc: `Further tables to keep, comma-separated, each ${TABLE_FORMAT} (counts in the interval; premake defaults to DBOPS_PARTITION_PREMAKE_MONTHS). An unpartitioned table is trimmed by batched DELETE. product_change.pc_kos_integration_log is always kept; an entry for it overrides its defaults.`,
    example: 'product_change.api_audit:created_at:month:24,product_change.api_trace:logged_at:day:30:7',
    schema: tableList,
  }),
  batchRows: setting({
    env: 'DBOPS_PARTITION_BATCH_ROWS',
    doc: 'Rows per batch when moving rows out of a default partition or deleting from an unpartitioned table.',
    default: '5000',
    schema: int(1, 1_000_000),
  }),
  batchPauseMs: setting({
    env: 'DBOPS_PARTITION_BATCH_PAUSE_MS',
    doc: 'Pause between those batches, leaving room for the service and for autovacuum.',
    default: '100',
    schema: int(0, 60_000),
  }),
  archive: setting({
    env: 'DBOPS_PARTITION_ARCHIVE',
    doc: 'Archive each partition to Azure Blob Storage (gzip-compressed COPY text) and verify its row count before dropping it.',
    default: 'false',
    schema: bool(),
  }),
  archiveContainerUrl: setting({
    env: 'DBOPS_PARTITION_ARCHIVE_CONTAINER_URL',
    doc: "Blob container for archives, signed in with the Function App's managed identity (needs Storage Blob Data Contributor on it).",
    example: 'https://stdbopsarchive.blob.core.windows.net/partition-archive',
    schema: optionalUrl(),
  }),
  archiveConnectionString: setting({
    env: 'DBOPS_PARTITION_ARCHIVE_CONNECTION_STRING',
    doc: 'Storage connection string instead of the managed identity (local runs, Azurite); the container is taken from DBOPS_PARTITION_ARCHIVE_CONTAINER or "partition-archive".',
    secret: true,
    schema: optionalString(),
  }),
  archiveContainer: setting({
    env: 'DBOPS_PARTITION_ARCHIVE_CONTAINER',
    doc: 'Container name used with DBOPS_PARTITION_ARCHIVE_CONNECTION_STRING.',
    default: 'partition-archive',
    schema: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$/, { message: 'expected a container name: 3-63 lowercase letters, digits and hyphens' }),
  }),
};

export type PartitionSettings = SettingsOf<typeof partitionSettings>;

/** The plan's table first, then the configured ones; an entry for the plan's table overrides it. */
export function tablePolicies(s: PartitionSettings): TablePolicy[] {
  const builtIn: TablePolicy = {
    schema: PLAN_SCHEMA,
    table: PLAN_TABLES.kosLog,
    key: 'created_at',
    interval: 'month',
    retention: s.retentionMonths,
    premake: s.premakeMonths,
  };
  const configured = s.tables.map((e) => ({ ...e, premake: e.premake ?? s.premakeMonths }));
  const overridesBuiltIn = configured.some((t) => t.schema === builtIn.schema && t.table === builtIn.table);
  const all = overridesBuiltIn ? configured : [builtIn, ...configured];
  const seen = new Set<string>();
  return all.filter((t) => {
    const k = `${t.schema}.${t.table}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
