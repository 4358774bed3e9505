import { listPartitions, monthStart, type PartitionInfo } from '../platform/db/partitions.js';
import type { Queryable } from '../platform/db/sql.js';
import type { Finding, JobReport } from '../shared/job.js';
import { PLAN_SCHEMA, PLAN_TABLES } from '../shared/plan.js';
import { latestReport, latestRunPerJob, recentRuns as readRecentRuns, reportMetricsSince, type RunRow, type RunStatus } from '../shared/runner/job-runs.js';
import type { Point } from './chart.js';

export interface RunSummary {
  id: number;
  job: string;
  trigger: string;
  triggeredBy: string | null;
  status: RunStatus;
  summary: string | null;
  startedAt: Date;
  durationMs: number | null;
  dryRun: boolean;
}

export interface MetricSeries {
  key: string;
  label: string;
  unit: string;
  threshold: number | null;
  day: Point[];
  week: Point[];
}

export interface ConsoleData {
  generatedAt: Date;
  environment: string;
  jobs: Array<{ name: string; title: string; latest: RunSummary | null }>;
  recentRuns: RunSummary[];
  health: { report: JobReport | null; checks: Finding[] };
  series: MetricSeries[];
  alerts: Array<{ job: string; check: string; target: string | null; severity: string; message: string; since: Date }>;
  business: { productChange: Rate | null; kos: Rate | null };
  partitions: { table: string; items: PartitionInfo[]; retentionMonths: number; horizon: Date } | null;
  backup: JobReport | null;
  cost: JobReport | null;
  problems: string[];
}

export interface Rate {
  total: number;
  succeeded: number;
  percent: number | null;
}

/** The metrics charted from health-check snapshots, with the plan's thresholds. */
export const CHARTED_METRICS: ReadonlyArray<{ key: string; label: string; unit: string; threshold: number | null }> = [
  { key: 'connections.total', label: 'Connections', unit: '', threshold: 150 },
  { key: 'cache-hit.percent', label: 'Buffer cache hit', unit: '%', threshold: 90 },
  { key: 'tps.value', label: 'Transactions / s', unit: '', threshold: 50 },
  { key: 'avg-query-time.ms', label: 'Average statement time', unit: ' ms', threshold: 500 },
  { key: 'business.pc-success.percent', label: 'Product-change success', unit: '%', threshold: 90 },
  { key: 'business.kos-success.percent', label: 'KOS integration success', unit: '%', threshold: 95 },
  { key: 'replica.lag-seconds', label: 'Replica lag', unit: ' s', threshold: 300 },
  { key: 'xmin-horizon.oldest-age', label: 'Oldest xmin held back', unit: ' xids', threshold: 10_000_000 },
  { key: 'vacuum.dead-tuple-tables', label: 'Tables with too many dead tuples', unit: '', threshold: null },
  { key: 'platform.cpu_percent', label: 'CPU (Azure Monitor)', unit: '%', threshold: 80 },
  { key: 'platform.storage_percent', label: 'Storage (Azure Monitor)', unit: '%', threshold: 75 },
];

const toRun = (r: RunRow): RunSummary => ({
  id: Number(r.id),
  job: r.job,
  trigger: r.trigger,
  triggeredBy: r.triggered_by,
  status: r.status,
  summary: r.summary,
  startedAt: r.started_at,
  durationMs: r.duration_ms,
  dryRun: r.dry_run,
});

async function tableExists(db: Queryable, qualifiedName: string): Promise<boolean> {
  const { rows } = await db.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [qualifiedName]);
  return rows[0]?.ok ?? false;
}

/**
 * Everything the status page shows, read in a handful of indexed queries. Each part that fails
 * (a table not there yet, a permission) becomes a line in `problems`; the page still renders.
 */
export async function loadConsoleData(
  db: Queryable,
  options: { jobs: Array<{ name: string; title: string }>; environment: string; now?: Date; retentionMonths?: number },
): Promise<ConsoleData> {
  const now = options.now ?? new Date();
  const problems: string[] = [];
  const attempt = async <T>(what: string, fallback: T, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      problems.push(`${what}: ${(err as Error).message}`);
      return fallback;
    }
  };
  const names = options.jobs.map((j) => j.name);

  const latest = await attempt('job runs', [] as RunSummary[], async () =>
    (await latestRunPerJob(db, names)).map(toRun),
  );
  const recentRuns = await attempt('recent runs', [] as RunSummary[], async () =>
    (await readRecentRuns(db, { limit: 15 })).map(toRun),
  );

  const healthReport = await attempt('health', null as JobReport | null, () => latestReport(db, 'health-check'));
  const series = await attempt('health trends', [] as MetricSeries[], () => loadSeries(db, now));

  const alerts = await attempt('open alerts', [] as ConsoleData['alerts'], async () => {
    if (!(await tableExists(db, 'ops.alert_state'))) return [];
    const { rows } = await db.query<{ job: string; check_name: string; target: string; severity: string; message: string | null; first_seen_at: Date }>(
      `SELECT job, check_name, target, severity, finding ->> 'message' AS message, first_seen_at
         FROM ops.alert_state WHERE resolved_at IS NULL ORDER BY first_seen_at DESC LIMIT 50`,
    );
    return rows.map((r) => ({ job: r.job, check: r.check_name, target: r.target || null, severity: r.severity, message: r.message ?? '', since: r.first_seen_at }));
  });

  const business = await attempt('business rates', { productChange: null, kos: null } as ConsoleData['business'], async () => {
    const since = new Date(now.getTime() - 86_400_000);
    const pc = await db.query<{ total: string; ok: string }>(
      `SELECT count(*) FILTER (WHERE process_status IN ('COMPLETED', 'FAILED')) AS total, count(*) FILTER (WHERE process_status = 'COMPLETED') AS ok
         FROM ${PLAN_SCHEMA}.${PLAN_TABLES.history} WHERE requested_at >= $1`,
      [since],
    );
    const kos = await db.query<{ total: string; ok: string }>(
      `SELECT count(*) AS total, count(*) FILTER (WHERE is_success) AS ok FROM ${PLAN_SCHEMA}.${PLAN_TABLES.kosLog} WHERE created_at >= $1`,
      [since],
    );
    const rate = (r: { total: string; ok: string } | undefined): Rate | null => {
      if (!r) return null;
      const total = Number(r.total);
      const succeeded = Number(r.ok);
      return { total, succeeded, percent: total > 0 ? (100 * succeeded) / total : null };
    };
    return { productChange: rate(pc.rows[0]), kos: rate(kos.rows[0]) };
  });

  const retentionMonths = options.retentionMonths ?? 12;
  const partitions = await attempt('partitions', null as ConsoleData['partitions'], async () => ({
    table: `${PLAN_SCHEMA}.${PLAN_TABLES.kosLog}`,
    items: await listPartitions(db, PLAN_SCHEMA, PLAN_TABLES.kosLog),
    retentionMonths,
    horizon: monthStart(now, -(retentionMonths - 1)),
  }));

  return {
    generatedAt: now,
    environment: options.environment,
    jobs: options.jobs.map((j) => ({ ...j, latest: latest.find((r) => r.job === j.name) ?? null })),
    recentRuns,
    health: { report: healthReport, checks: healthReport?.findings ?? [] },
    series,
    alerts,
    business,
    partitions,
    backup: await attempt('backup verification', null as JobReport | null, () => latestReport(db, 'backup-verification')),
    cost: await attempt('cost', null as JobReport | null, () => latestReport(db, 'cost-check')),
    problems,
  };
}

/** Metric values per health snapshot (every probe and daily run) over the last week. */
async function loadSeries(db: Queryable, now: Date): Promise<MetricSeries[]> {
  const weekAgo = new Date(now.getTime() - 7 * 86_400_000);
  const dayAgo = new Date(now.getTime() - 86_400_000);
  const fromSnapshots = await tableExists(db, 'ops.health_snapshot');
  const rows = fromSnapshots
    ? (await db.query<{ at: Date; metrics: Record<string, unknown> | null }>(`SELECT taken_at AS at, metrics FROM ops.health_snapshot WHERE taken_at >= $1 ORDER BY taken_at`, [weekAgo])).rows
    : await reportMetricsSince(db, 'health-check', weekAgo);
  return CHARTED_METRICS.map((m) => {
    const week = rows
      .map((r) => ({ t: r.at, v: r.metrics?.[m.key] }))
      .filter((p): p is Point => typeof p.v === 'number' && Number.isFinite(p.v));
    return { ...m, week, day: week.filter((p) => p.t >= dayAgo) };
  }).filter((s) => s.week.length > 0);
}
