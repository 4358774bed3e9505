import type pg from 'pg';
import type { ConnectionTarget } from '../../platform/db/connection.js';
import { errorMessage } from '../../platform/redact.js';
import { actionRecorder } from '../actions.js';
import type { Action, JobContext, JobOutcome, RegisteredJob } from '../job.js';
import { jobDatabase } from '../runner/run-job.js';

/**
 * The job registry as a service: a job that runs another job's code (version-upgrade runs
 * install-verification and the health check on the upgraded server) finds it by name here
 * instead of importing it. The composition root (src/runtime.ts) provides it, loading the
 * registry on first use.
 */
export interface JobRegistry {
  find(name: string): Promise<RegisteredJob | undefined>;
}

declare module '../job.js' {
  interface JobServices {
    jobs?: JobRegistry;
  }
}

/**
 * Runs a job's own code against another server (an upgraded copy, or production after its
 * upgrade), so its SQL meets that server for real. No Azure services (the job's platform part
 * is production's, not the copy's), nothing recorded in the server's run history; a dry run, so
 * nothing is changed by it.
 */
export async function runJobOn(ctx: JobContext, pool: pg.Pool, target: ConnectionTarget, name: string, raw: Record<string, unknown>, where: string): Promise<JobOutcome> {
  const registry = ctx.services.jobs;
  if (!registry) return { status: 'failed', summary: `${name} could not run on ${where}: no job registry in the runtime's services (jobs)` };
  const actions: Action[] = [];
  try {
    const job = await registry.find(name);
    if (!job) return { status: 'failed', summary: `${name} could not run on ${where}: no such job in the registry` };
    const sub: JobContext = { ...ctx, job: job.name, db: jobDatabase(pool, target), dryRun: true, services: {}, act: actionRecorder(actions, true), log: ctx.log.child({ on: job.name }) };
    return await job.run(sub, job.params.parse(raw));
  } catch (err) {
    return { status: 'failed', summary: `${name} failed on ${where}: ${errorMessage(err)}` };
  }
}
