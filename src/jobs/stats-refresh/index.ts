import { z } from 'zod';
import { defineJob, type Action, type Finding } from '../../shared/job.js';
import { paramBool } from '../../shared/runner/run-job.js';
import { readSettings } from '../../platform/settings.js';
import { planAnalyze, recordBaseline } from './analyze-plan.js';
import { plannedActions, runAnalyzes } from './analyze-run.js';
import { PLAN_INDEXES, PLAN_SCHEMA } from '../../shared/plan.js';
import { duplicateIndexes, invalidIndexes, listIndexes, unusedIndexes, withDefinitions } from './index-report.js';
import { statsRefreshSettings } from './settings.js';
import { slowQueries } from './slow-queries.js';
import { estimatedBloat, heavySequentialScans } from './table-report.js';
import { manifest } from './manifest.js';

const params = z
  .object({
    report: paramBool()
      .default(true)
      .describe('also report indexes, sequential scans, bloat and slow queries (false: only ANALYZE)'),
  })
  .strict();

/**
 * Plan sections 8.1.2 (weekly: index usage, statistics freshness) and 8.3.1 (monthly: refresh
 * statistics, unused indexes, slow-query patterns), run daily off-peak so each run has little
 * to do.
 */
export const statsRefresh = defineJob({
  ...manifest,
  params,
  settings: statsRefreshSettings,
  long: true,
  async run(ctx, p) {
    const s = readSettings(statsRefreshSettings, ctx.env);
    const steps: Record<string, number> = {};
    const findings: Finding[] = [];
    const timed = async <T>(name: string, fn: () => Promise<T>, fallback: T): Promise<T> => {
      const t = performance.now();
      try {
        return await fn();
      } catch (err) {
        findings.push({ check: `${name}.error`, severity: 'warning', message: `${name} could not run: ${(err as Error).message}` });
        return fallback;
      } finally {
        steps[name] = Math.round(performance.now() - t);
      }
    };

    const plan = await timed('plan', () => planAnalyze(ctx.db, s, ctx.now()), null);
    // The report reads statistics views only: it runs on another session while the ANALYZEs
    // run, so the job takes about as long as its ANALYZEs (never longer than a plain ANALYZE).
    const reportFindings: Finding[] = [];
    const reportData: Record<string, unknown> = {};
    const report = p.report
      ? (async () => {
          const indexes = await timed('indexes', () => listIndexes(ctx.db), []);
          const statsSince = await ctx.db
            .query<{ since: Date | null }>(
              `SELECT coalesce((SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()), pg_postmaster_start_time()) AS since`,
            )
            .then((r) => r.rows[0]?.since ?? null);
          const indexFindings = [...invalidIndexes(indexes), ...duplicateIndexes(indexes), ...unusedIndexes(indexes, {
              minMb: s.unusedIndexMinMb,
              statsSince,
              now: ctx.now(),
              minDays: s.unusedIndexMinDays,
              planned: new Set(PLAN_INDEXES.map((i) => `${PLAN_SCHEMA}.${i.name}`)),
            })];
          reportFindings.push(...(await withDefinitions(ctx.db, indexFindings)));
          reportFindings.push(...(await timed('sequentialScans', () => heavySequentialScans(ctx.db, s), [])));
          reportFindings.push(...(await timed('bloat', () => estimatedBloat(ctx.db, s), [])));
          const slow = await timed('slowQueries', () => slowQueries(ctx.db, s), null);
          if (slow) {
            reportFindings.push(...slow.findings);
            reportData['slowQueries'] = slow.data;
          }
          reportData['indexStatsSince'] = statsSince?.toISOString() ?? null;
        })()
      : Promise.resolve();
    // Awaited below; this only keeps an early failure of the report from going unobserved meanwhile.
    report.catch(() => undefined);
    let actions: Action[] = [];
    let analyzed = 0;
    if (plan && ctx.dryRun) {
      actions = plannedActions(plan.targets);
    } else if (plan) {
      const outcome = await timed(
        'analyze',
        () => runAnalyzes(ctx.db, plan.targets, { lockTimeoutMs: s.analyzeLockTimeoutMs, statementTimeoutMs: s.analyzeStatementTimeoutMs }, ctx.signal),
        null,
      );
      if (outcome) {
        actions = outcome.actions;
        analyzed = outcome.analyzed;
        findings.push(...outcome.findings);
      }
      for (const b of plan.adoptedBaselines) await recordBaseline(ctx.db, b);
    }

    const data: Record<string, unknown> = {
      considered: plan?.considered ?? 0,
      toAnalyze: plan?.targets.length ?? 0,
      analyzed,
      partitionedParents: plan?.freshParents.map((f) => ({ ...f, fresh: true })) ?? [],
    };
    await report;
    findings.push(...reportFindings);
    Object.assign(data, reportData);

    const failed = actions.filter((a) => a.status === 'failed').length;
    const count = (check: string) => findings.filter((f) => f.check === check).length;
    const parts = [
      ctx.dryRun
        ? `would analyze ${actions.length} of ${data.considered} relations`
        : `analyzed ${analyzed} of ${data.considered} relations${failed ? ` (${failed} failed)` : ''}`,
    ];
    if (p.report) {
      const idx = ['index.unused', 'index.duplicate', 'index.invalid'].map(count);
      parts.push(`${idx[0]} unused, ${idx[1]} duplicate, ${idx[2]} invalid indexes`);
      const share = findings.find((f) => f.check === 'slow-queries.share');
      parts.push(share ? `slow queries ${share.value} %` : 'no pg_stat_statements');
    }
    return { summary: `${parts.join('; ')}.`, findings, actions, steps, data };
  },
});
