import type { Finding } from '../../shared/job.js';
import { formatBytes, formatDuration, type CheckResult, type HealthCheck } from './check.js';
import { secondsBetween } from './snapshot.js';

/** Tables whose size each snapshot keeps (the largest); bounded so 2,000 tables cost no more than 50. */
export const TRACKED_TABLES = 50;
/** Tables named in the growth finding. */
const LISTED = 10;
const DAYS_IN_SIX_MONTHS = 182.5;

/**
 * Per-table size (table, indexes and TOAST; a partitioned table's summed over its partitions)
 * of the largest tables, kept in each snapshot, and their growth against a snapshot about a
 * week old: the plan's weekly capacity review (§8.1.2: storage growth trend and a 6-month
 * projection). The largest are picked from pg_class's page
 * counts (kept by vacuum and analyze), so only those are measured on disk.
 */
export const tableGrowthCheck: HealthCheck = {
  name: 'table-growth',
  async run(c): Promise<CheckResult> {
    const { rows } = await c.db.query<{ name: string; bytes: string }>(
      `WITH t AS (
         -- A partition counts towards the partitioned table at the root of its tree (the
         -- partitioned table itself has no storage): the log tables are partitioned by month.
         SELECT t.oid, CASE WHEN t.relispartition THEN pg_partition_root(t.oid) ELSE t.oid END AS root,
                t.relpages + coalesce(tt.relpages, 0) AS pages
           FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace LEFT JOIN pg_class tt ON tt.oid = t.reltoastrelid
          WHERE t.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'),
       i AS (SELECT x.indrelid AS oid, sum(ic.relpages) AS pages FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid GROUP BY x.indrelid),
       p AS (SELECT t.oid, t.root, t.pages + coalesce(i.pages, 0) AS pages FROM t LEFT JOIN i ON i.oid = t.oid),
       largest AS (
         SELECT root, sum(pages) AS pages, array_agg(oid) AS oids, array_agg(pages) AS member_pages
           FROM p GROUP BY root ORDER BY 2 DESC, 1 LIMIT $1),
       -- Measuring a table takes an ACCESS SHARE lock: one an ACCESS EXCLUSIVE lock holds or
       -- waits for (DDL) would stall the whole check until lock_timeout. Its page counts stand in.
       locked AS (SELECT DISTINCT relation FROM pg_locks WHERE locktype = 'relation' AND mode = 'AccessExclusiveLock'
                     AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))
       SELECT format('%I.%I', n.nspname, r.relname) AS name,
              (SELECT sum(CASE WHEN m.oid IN (SELECT relation FROM locked) THEN m.pages * current_setting('block_size')::bigint ELSE pg_total_relation_size(m.oid) END)
                 FROM unnest(l.oids, l.member_pages) m(oid, pages)) AS bytes
         FROM largest l JOIN pg_class r ON r.oid = l.root JOIN pg_namespace n ON n.oid = r.relnamespace
        ORDER BY l.pages DESC, 1`,
      [TRACKED_TABLES],
    );
    const tableBytes: Record<string, number> = Object.fromEntries(rows.map((r) => [r.name, Number(r.bytes)]));
    const base = c.history.weekAgo;
    const days = base ? secondsBetween(c.now, base.takenAt) / 86_400 : 0;
    const before = base?.counters.tableBytes;
    const findings: Finding[] = [];
    const metrics: Record<string, number | null> = {};
    const dbNow = c.counters.databaseBytes;
    const dbBefore = base?.counters.databaseBytes;
    if (!base || !before || days < 1) {
      findings.push({ check: 'capacity.table-growth', severity: 'info', message: `table growth: no snapshot a day or more old with table sizes yet; ${rows.length} largest tables recorded for the next comparison`, details: { tableBytes } });
      metrics['capacity.projected-6-months-bytes'] = null;
      return { findings, counters: { tableBytes }, metrics };
    }
    const growth = Object.entries(tableBytes)
      .map(([name, bytes]) => ({ name, bytes, perDay: before[name] !== undefined ? (bytes - before[name]!) / days : null }))
      .filter((g): g is { name: string; bytes: number; perDay: number } => g.perDay !== null)
      .sort((a, b) => b.perDay - a.perDay);
    const top = growth.slice(0, LISTED).map((g) => ({ ...g, inSixMonths: g.bytes + Math.max(0, g.perDay) * DAYS_IN_SIX_MONTHS }));
    const list = top.map((g) => `${g.name} ${formatBytes(g.bytes)} (${g.perDay >= 0 ? '+' : '−'}${formatBytes(Math.abs(g.perDay))}/day → ${formatBytes(g.inSixMonths)} in 6 months)`).join('; ');
    findings.push({
      check: 'capacity.table-growth',
      severity: 'info',
      message: `fastest-growing tables over the last ${formatDuration(days * 86_400)}: ${list || 'none measured in both snapshots'}`,
      details: { days: Math.round(days * 10) / 10, tables: top.map((g) => ({ table: g.name, bytes: g.bytes, bytesPerDay: Math.round(g.perDay), projectedBytesInSixMonths: Math.round(g.inSixMonths) })) },
    });
    if (dbNow !== undefined && dbBefore !== undefined) {
      const perDay = (dbNow - dbBefore) / days;
      const projected = dbNow + Math.max(0, perDay) * DAYS_IN_SIX_MONTHS;
      metrics['capacity.projected-6-months-bytes'] = Math.round(projected);
      const limit = c.settings.capacityWarningBytes;
      const sev = limit > 0 && projected > limit ? 'warning' : 'info';
      findings.push({
        check: 'capacity.projection',
        severity: sev,
        message: `database ${formatBytes(dbNow)}, ${perDay >= 0 ? '+' : '−'}${formatBytes(Math.abs(perDay))} a day over the last ${formatDuration(days * 86_400)}: about ${formatBytes(projected)} in 6 months${limit > 0 ? ` (warning above ${formatBytes(limit)})` : ''}`,
        value: Math.round(projected),
        ...(limit > 0 ? { threshold: limit } : {}),
        unit: 'bytes',
        ...(sev !== 'info' ? { remedy: 'plan the storage increase (Azure storage grows online, never shrinks; storage auto-grow) or archive old partitions (partition-maintenance)' } : {}),
      });
    }
    return { findings, counters: { tableBytes }, metrics };
  },
};
