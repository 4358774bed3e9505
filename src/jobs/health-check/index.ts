import { z } from 'zod';
import { isLockTimeout, isStatementTimeout, type Queryable } from '../../platform/db/sql.js';
import { defineJob, statusFromFindings, type Finding, type JobContext } from '../../shared/job.js';
import { PLAN_SCHEMA } from '../../shared/plan.js';
import { errorMessage } from '../../platform/redact.js';
import { paramInt } from '../../shared/runner/run-job.js';
import { readSettings } from '../../platform/settings.js';
import { kosCheck, productChangeCheck } from './business.js';
import type { CheckContext, HealthCheck, Metrics } from './check.js';
import {
  circuitBreakerCheck,
  connectionsCheck,
  databaseStatsCheck,
  invalidIndexesCheck,
  preparedTransactionsCheck,
  rateFindings,
  sessionsCheck,
} from './database-checks.js';
import { activityCheck } from './activity.js';
import { checkpointsCheck } from './checkpoints.js';
import { indexBloatCheck } from './index-bloat.js';
import { locksCheck } from './locks.js';
import { sequencesCheck } from './sequences.js';
import { tableGrowthCheck } from './table-growth.js';
import { transactionsCheck } from './transactions.js';
import { vacuumCheck } from './vacuum.js';
import { wraparoundCheck } from './wraparound.js';
import { xminHorizonCheck } from './xmin-horizon.js';
import { diffProblems } from './diff.js';
import { platformCheck } from './platform.js';
import { primaryReplicationCheck, replicaCheck } from './replication.js';
import { healthCheckSettings } from './settings.js';
import { loadHistory, problemsOf, pruneSnapshots, saveSnapshot, type Counters, type Problem } from './snapshot.js';
import { summarize } from './summary.js';
import { manifest } from './manifest.js';

export { healthCheckSettings } from './settings.js';
export type { PlatformMetricsSource } from './platform.js';

const params = z
  .object({
    mode: z
      .enum(['daily', 'probe'], { message: 'expected "daily" (the full checklist) or "probe" (only what changed)' })
      .default('daily')
      .describe('daily: the full checklist; probe: a summary of what changed since the previous check, with the current problems'),
    windowHours: paramInt(1, 720).default(24).describe('hours of business data the success rates cover'),
    schema: z.string().min(1).max(63).default(PLAN_SCHEMA).describe('schema holding the Product-Change tables'),
  })
  .strict();

export type HealthCheckParams = z.infer<typeof params>;

/** In the order they run; the database-side ones share one session. */
export const DATABASE_CHECKS: readonly HealthCheck[] = [
  connectionsCheck,
  sessionsCheck,
  transactionsCheck,
  locksCheck,
  databaseStatsCheck,
  activityCheck,
  checkpointsCheck,
  xminHorizonCheck,
  wraparoundCheck,
  vacuumCheck,
  sequencesCheck,
  invalidIndexesCheck,
  indexBloatCheck,
  tableGrowthCheck,
  preparedTransactionsCheck,
  primaryReplicationCheck,
  productChangeCheck,
  kosCheck,
  circuitBreakerCheck,
];
/** Checks that reach beyond the primary (the replica, Azure Monitor). */
const OUTSIDE_CHECKS: readonly HealthCheck[] = [replicaCheck, platformCheck];

function failedCheckFinding(check: HealthCheck, err: unknown, timeoutMs: number): Finding {
  const reason = isStatementTimeout(err)
    ? `took longer than its ${timeoutMs} ms statement_timeout (DBOPS_HEALTH_CHECK_TIMEOUT_MS)`
    : isLockTimeout(err)
      ? 'waited longer than lock_timeout for a lock: something holds an exclusive lock on what it reads'
      : errorMessage(err);
  return { check: check.name, severity: 'warning', message: `the ${check.name} check could not run: ${reason}`, details: { checkFailed: true } };
}

/** Counts the statements a check session sends (the benchmark reports it). */
function counting(db: Queryable): Queryable & { count: number } {
  const wrapped = {
    count: 0,
    query: ((text: string, values?: unknown[]) => {
      wrapped.count++;
      return db.query(text, values);
    }) as Queryable['query'],
  };
  return wrapped;
}

export interface CheckRun {
  findings: Finding[];
  metrics: Metrics;
  counters: Partial<Counters>;
  steps: Record<string, number>;
  queries: number;
  /** The warning and critical findings of the previous check, if there was one. */
  previous: Problem[] | undefined;
}

/**
 * Every check once, each bounded by statement_timeout; a check that fails becomes a finding
 * and the others still run. Exported for the benchmark, which times exactly this.
 */
export async function runChecks(ctx: JobContext, p: HealthCheckParams, options: { includeOutside?: boolean } = {}): Promise<CheckRun> {
  const settings = readSettings(healthCheckSettings, ctx.env);
  const now = ctx.now();
  const findings: Finding[] = [];
  const metrics: Metrics = {};
  const steps: Record<string, number> = {};
  const counters: Partial<Counters> = {};
  let queries = 0;
  let previous: Problem[] | undefined;

  const runOne = async (check: HealthCheck, c: CheckContext) => {
    const t = performance.now();
    try {
      const result = await check.run(c);
      findings.push(...result.findings);
      Object.assign(metrics, result.metrics);
      Object.assign(counters, result.counters);
    } catch (err) {
      findings.push(failedCheckFinding(check, err, settings.checkTimeoutMs));
    }
    steps[check.name] = Math.round(performance.now() - t);
  };

  await ctx.db.withClient(async (client) => {
    const db = counting(client);
    await client.query(`SELECT set_config('statement_timeout', $1, false)`, [String(settings.checkTimeoutMs)]);
    const history = await loadHistory(db, now).catch((err: unknown) => {
      if ((err as { code?: string }).code === '42P01') throw new Error('ops.health_snapshot does not exist: run `dbops migrate` first.');
      throw err;
    });
    const c: CheckContext = {
      db,
      now,
      settings,
      core: ctx.settings,
      schema: p.schema,
      windowHours: p.windowHours,
      history,
      services: ctx.services,
      withServer: ctx.withServer,
      log: ctx.log,
      counters,
      ownApplication: `dbops:${ctx.job}`,
    };
    for (const check of DATABASE_CHECKS) await runOne(check, c);
    if (counters.transactions !== undefined) {
      const rates = rateFindings(c, counters);
      findings.push(...rates.findings);
      Object.assign(metrics, rates.metrics);
    }
    if (options.includeOutside !== false) for (const check of OUTSIDE_CHECKS) await runOne(check, c);
    queries = db.count + 1;
    previous = history.latest?.problems;
  });
  return { findings, metrics, counters, steps, queries, previous };
}

/** Plan sections 6.1 (system, performance, business metrics), 6.2 (alert rules) and 8.1.1 (daily checklist). */
export const healthCheck = defineJob({
  ...manifest,
  params,
  settings: healthCheckSettings,
  async run(ctx, p) {
    const settings = readSettings(healthCheckSettings, ctx.env);
    const now = ctx.now();
    const run = await runChecks(ctx, p);
    const status = statusFromFindings(run.findings);
    const problems = problemsOf(run.findings);
    const t = performance.now();
    let snapshotId: number | null = null;
    let pruned = 0;
    if (!ctx.dryRun) {
      snapshotId = await saveSnapshot(ctx.db, { runId: ctx.runId, takenAt: now, mode: p.mode, status: status === 'skipped' ? 'ok' : status, metrics: run.metrics, counters: run.counters, problems });
      if (p.mode === 'daily') pruned = await pruneSnapshots(ctx.db, now, settings.snapshotRetentionDays);
    }
    run.steps['snapshot'] = Math.round(performance.now() - t);

    const data = { mode: p.mode, windowHours: p.windowHours, metrics: run.metrics, queries: run.queries, snapshotId, prunedSnapshots: pruned };
    if (p.mode === 'daily') {
      return { status, summary: summarize.daily(run.findings, run.metrics, p.windowHours), findings: run.findings, steps: run.steps, data };
    }
    // A probe's summary says only what changed. Its findings are every current problem plus what
    // was resolved: the notifier de-duplicates, so a persisting problem stays one open alert (no
    // false recovery, no repeat) and the timer stays quiet unless something changes.
    const changes = diffProblems(run.findings, run.previous);
    const changedKeys = new Set(changes.changed.map((f) => `${f.check}\u0000${f.target ?? ''}`));
    const current = run.findings.filter((f) => f.severity !== 'info' && !changedKeys.has(`${f.check}\u0000${f.target ?? ''}`));
    return {
      status,
      summary: summarize.probe(status, changes, run.previous !== undefined),
      findings: [...changes.changed, ...current, ...changes.resolved],
      steps: run.steps,
      data: { ...data, changed: changes.changed.length + changes.resolved.length > 0, changes: { new: changes.changed.length, resolved: changes.resolved.length, persisting: changes.persisting } },
    };
  },
});
