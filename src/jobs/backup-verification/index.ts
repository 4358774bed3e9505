import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { getAzure } from '../../platform/azure/index.js';
import { defineJob, type JobContext, type JobOutcome } from '../../shared/job.js';
import { PLAN_SCHEMA } from '../../shared/plan.js';
import { paramBool } from '../../shared/runner/run-job.js';
import { restoreServerJob } from '../../shared/restore-servers-azure.js';
import { lastFinishedWith, latestDataField } from '../../shared/runner/job-runs.js';
import { resolveSchedule } from '../../shared/schedule.js';
import { readSettings } from '../../platform/settings.js';
import { checkBackups } from './daily.js';
import { reconcile } from './reconcile.js';
import { backupVerificationSettings } from './settings.js';
import { dailySchedule, JOB, manifest } from './manifest.js';

export { backupVerificationSettings } from './settings.js';
export { restoredServerTarget, temporaryServerName, isTemporaryRestoreServer, RESTORE_TAGS, RESTORE_PURPOSE, RESTORE_CREATED_BY } from '../../shared/restore-servers.js';
export { weeklyTestDue } from './reconcile.js';

const params = z
  .object({
    mode: z
      .enum(['daily', 'reconcile'], { message: 'expected daily or reconcile' })
      .default('reconcile')
      .describe('daily: check the backups ARM lists; reconcile: advance the weekly restore test one step (and start one when due)'),
    start: paramBool().default(false).describe('start a restore test now even if the weekly one is not due (when none is in progress)'),
    schema: z.string().min(1).max(63).default(PLAN_SCHEMA).describe('schema holding the Product-Change tables'),
  })
  .strict();

/**
 * The timers of this job share its lock: when the daily check's tick loses it to a reconciler
 * tick (both fire at 19:00:00 by default), the next reconciler tick runs the daily check.
 */
async function dailyCheckMissed(ctx: JobContext): Promise<boolean> {
  const previous = CronExpressionParser.parse(resolveSchedule(dailySchedule, ctx.env), { tz: 'UTC', currentDate: ctx.now() }).prev().toDate();
  const at = await lastFinishedWith(ctx.db, JOB, 'backupsCheckedAt');
  return ctx.now().getTime() - previous.getTime() < 24 * 3_600_000 && (!at || at < previous);
}

/** The daily check's figures, repeated by reconciler ticks so the console always shows them. */
async function lastDailyData(ctx: JobContext): Promise<Record<string, unknown>> {
  const latest = await latestDataField(ctx.db, JOB, 'backupsCheckedAt', 'latestBackup');
  return latest ? { latestBackup: latest } : {};
}

/** Plan 5.1 (automatic backups, 35 days, geo-redundant), 8.1.1 (daily check, weekly restore test), 10.2.2 (restore, count, delete). */
export const backupVerification = defineJob({
  ...manifest,
  params,
  settings: backupVerificationSettings,
  ...restoreServerJob,
  async run(ctx, p): Promise<JobOutcome> {
    const s = readSettings(backupVerificationSettings, ctx.env);
    const { azure, missing } = getAzure(ctx.services, 'server');
    if (!azure) {
      return {
        status: 'skipped',
        summary: `Azure not configured: set ${missing.join(', ')}.${
          ctx.dryRun && p.mode === 'reconcile'
            ? ` The weekly restore test would: restore the server as of ${s.restorePointLagMinutes} min before it starts into a temporary server <server>-rt-<yyyymmddhhmm>-<attempt> (tags purpose, created-by, expires-at; same network), verify it against production, and delete it within ${s.restoreDeadlineMinutes} min.`
            : ''
        }`,
      };
    }
    if (p.mode === 'daily') {
      const daily = await checkBackups(azure, s, ctx.now());
      return { summary: daily.summary, findings: daily.findings, data: daily.data };
    }
    const outcome = await reconcile(ctx, azure, s, { schema: p.schema, start: p.start });
    if (ctx.dryRun || !(await dailyCheckMissed(ctx))) return { ...outcome, data: { ...(await lastDailyData(ctx)), ...outcome.data } };
    const daily = await checkBackups(azure, s, ctx.now());
    return {
      ...outcome,
      summary: `${outcome.summary} Daily backup check (caught up): ${daily.summary}`,
      findings: [...(outcome.findings ?? []), ...daily.findings],
      data: { ...outcome.data, ...daily.data },
    };
  },
});
