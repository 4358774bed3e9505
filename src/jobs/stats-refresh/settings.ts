import { int, num, setting, type SettingsOf } from '../../platform/settings.js';

export const statsRefreshSettings = {
  slowQueryMs: setting({
    env: 'DBOPS_SLOW_QUERY_MS',
    doc: 'A statement slower than this many milliseconds counts as a slow query (the plan sets log_min_duration_statement to 1 s).',
    default: '1000',
    plan: '3.1.2',
    schema: int(1, 3_600_000),
  }),
  slowQueryShareWarningPercent: setting({
    env: 'DBOPS_SLOW_QUERY_SHARE_WARNING_PERCENT',
    doc: 'Warn when more than this percentage of statements are slow queries (the plan: target < 1 %, alert > 5 %).',
    default: '5',
    plan: '6.1.2',
    schema: num(0, 100),
  }),
  slowQueryTop: setting({
    env: 'DBOPS_SLOW_QUERY_TOP',
    doc: 'How many of the slowest statements (by mean time, from pg_stat_statements) stats-refresh reports (the plan\'s dashboard shows the top 10).',
    default: '10',
    schema: int(0, 100),
  }),
  analyzeThreshold: setting({
    env: 'DBOPS_ANALYZE_THRESHOLD',
    doc: "Rows changed since a table's last analyze before stats-refresh analyzes it, added to DBOPS_ANALYZE_SCALE_FACTOR × rows (autovacuum's rule; a table's own autovacuum_analyze_threshold wins).",
    default: '50',
    schema: int(0, 2_000_000_000),
  }),
  analyzeScaleFactor: setting({
    env: 'DBOPS_ANALYZE_SCALE_FACTOR',
    doc: "Fraction of a table's rows that must change before stats-refresh analyzes it (autovacuum's rule; a table's own autovacuum_analyze_scale_factor wins).",
    default: '0.1',
    schema: num(0, 100),
  }),
  analyzeMaxAgeDays: setting({
    env: 'DBOPS_ANALYZE_MAX_AGE_DAYS',
    doc: 'A table with any change since its last analyze is analyzed once that analyze is older than this many days, even below the threshold (partitioned parents included).',
    default: '7',
    schema: num(0, 3650),
  }),
  analyzeLockTimeoutMs: setting({
    env: 'DBOPS_ANALYZE_LOCK_TIMEOUT_MS',
    doc: 'lock_timeout for each ANALYZE: a table locked longer than this is reported and skipped until the next run (PgHero: 5 s).',
    default: '5000',
    schema: int(10, 600_000),
  }),
  analyzeStatementTimeoutMs: setting({
    env: 'DBOPS_ANALYZE_STATEMENT_TIMEOUT_MS',
    doc: 'statement_timeout for each ANALYZE (PgHero: 120 s). Analyzing a partitioned parent analyzes all its partitions within this time.',
    default: '120000',
    schema: int(100, 86_400_000),
  }),
  unusedIndexMinMb: setting({
    env: 'DBOPS_UNUSED_INDEX_MIN_MB',
    doc: 'Report an index with no scans since the statistics were reset only from this size on, in MB (PgHero: 10).',
    default: '10',
    schema: num(0, 10_000_000),
  }),
  unusedIndexMinDays: setting({
    env: 'DBOPS_UNUSED_INDEX_MIN_DAYS',
    doc: 'Days index usage must have been counted (since the statistics reset or server start) before an index with no scans is called unused: a fresh server has scanned nothing yet.',
    default: '7',
    schema: num(0, 3650),
  }),
  seqScanMinRows: setting({
    env: 'DBOPS_SEQ_SCAN_MIN_ROWS',
    doc: 'Tables with fewer live rows than this are never reported for sequential scans (scanning a small table is cheap).',
    default: '10000',
    schema: int(0, 2_000_000_000),
  }),
  seqScanMinCount: setting({
    env: 'DBOPS_SEQ_SCAN_MIN_COUNT',
    doc: 'Sequential scans since the statistics reset before a table can be reported for them.',
    default: '100',
    schema: int(1, 2_000_000_000),
  }),
  seqScanPercent: setting({
    env: 'DBOPS_SEQ_SCAN_PERCENT',
    doc: "Report a table when sequential scans are at least this percentage of its scans (sequential + index).",
    default: '50',
    schema: num(0, 100),
  }),
  bloatWarningPercent: setting({
    env: 'DBOPS_BLOAT_WARNING_PERCENT',
    doc: "Warn when a table's estimated bloat (space beyond what its live rows need) is at least this percentage of its size.",
    default: '50',
    schema: num(0, 100),
  }),
  bloatMinMb: setting({
    env: 'DBOPS_BLOAT_MIN_MB',
    doc: 'Report estimated bloat only from this many wasted MB on.',
    default: '100',
    schema: num(0, 10_000_000),
  }),
};

export type StatsRefreshSettings = SettingsOf<typeof statsRefreshSettings>;
