import type { InvocationContext, Timer } from '@azure/functions';
import type { JobManifest, Schedule } from '../shared/job.js';
import { loadJob } from './jobs.js';
import { runJob } from '../shared/runner/run-job.js';
import { forInvocation, type RuntimeSource } from './runtime.js';

/** A timer invocation runs the job with the schedule's params; the report goes to the log. */
export function timerHandler(manifest: JobManifest, schedule: Schedule, runtime: RuntimeSource) {
  return async (timer: Timer, context: InvocationContext): Promise<void> => {
    const deps = forInvocation(await runtime(), context);
    if (timer.isPastDue) deps.log.warn('timer is past due', { job: manifest.name });
    const job = await loadJob(manifest.name);
    if (!job) throw new Error(`job ${manifest.name} has a manifest but no definition in the registry`);
    const report = await runJob(job, schedule.params ?? {}, deps, { trigger: 'timer', triggeredBy: `timer:${schedule.setting}` });
    deps.log.info(`${job.name}: ${report.status}: ${report.summary}`, { runId: report.runId });
  };
}
