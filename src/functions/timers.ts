import type { InvocationContext, Timer } from '@azure/functions';
import type { RegisteredJob, Schedule } from '../shared/job.js';
import { runJob } from '../shared/runner/run-job.js';
import { forInvocation, type RuntimeSource } from './runtime.js';

/** A timer invocation runs the job with the schedule's params; the report goes to the log. */
export function timerHandler(job: RegisteredJob, schedule: Schedule, runtime: RuntimeSource) {
  return async (timer: Timer, context: InvocationContext): Promise<void> => {
    const deps = forInvocation(runtime(), context);
    if (timer.isPastDue) deps.log.warn('timer is past due', { job: job.name });
    const report = await runJob(job, schedule.params ?? {}, deps, { trigger: 'timer', triggeredBy: `timer:${schedule.setting}` });
    deps.log.info(`${job.name}: ${report.status}: ${report.summary}`, { runId: report.runId });
  };
}
