import type pg from 'pg';
import type { ConnectionTarget } from '../../platform/db/connection.js';
import { ident } from '../../platform/db/sql.js';
import { errorMessage } from '../../platform/redact.js';
import { actionRecorder } from '../../shared/actions.js';
import type { Action, Finding, JobContext, JobDefinition, JobOutcome } from '../../shared/job.js';
import { readServerVersion } from '../../shared/postgres-lifecycle.js';
import { jobDatabase } from '../../shared/runner/run-job.js';
import { healthCheck } from '../health-check/index.js';
import { installVerification } from '../install-verification.js';

/**
 * Runs a job's own code against another server (the upgraded copy, or production after its
 * upgrade), so its SQL meets the new major for real. No Azure services (the job's platform part
 * is production's, not the copy's), nothing recorded in the copy's run history; a dry run, so
 * nothing is changed by it.
 */
async function runOn<P>(ctx: JobContext, pool: pg.Pool, target: ConnectionTarget, job: JobDefinition<P>, raw: Record<string, unknown>): Promise<JobOutcome> {
  const actions: Action[] = [];
  const sub: JobContext = { ...ctx, job: job.name, db: jobDatabase(pool, target), dryRun: true, services: {}, act: actionRecorder(actions, true), log: ctx.log.child({ on: job.name }) };
  try {
    return await job.run(sub, job.params.parse(raw));
  } catch (err) {
    return { status: 'failed', summary: `${job.name} failed on the upgraded server: ${errorMessage(err)}` };
  }
}

export interface UpgradedCheck {
  findings: Finding[];
  major: number;
  version: string;
  extensionsUpdated: Array<{ name: string; from: string; to: string }>;
  jobs: Record<string, { status: string; summary: string; problems: number }>;
  steps: Record<string, number>;
}

/**
 * What the real upgrade's aftermath does, on the given server: the version is the target,
 * install-verification and the health check run clean on it, every extension is updated to the
 * version the new major ships (ALTER EXTENSION … UPDATE) and ANALYZE rebuilds the statistics
 * pg_upgrade does not carry over.
 */
export async function verifyUpgraded(ctx: JobContext, pool: pg.Pool, target: ConnectionTarget, opts: { schema: string; targetMajor: number; who: string }): Promise<UpgradedCheck> {
  const findings: Finding[] = [];
  const steps: Record<string, number> = {};
  const time = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      steps[name] = Math.round(performance.now() - t);
    }
  };
  const server = await readServerVersion(pool);
  if (server.major !== opts.targetMajor) {
    findings.push({ check: 'upgrade.version', severity: 'critical', target: opts.who, message: `${opts.who} runs PostgreSQL ${server.version}, not ${opts.targetMajor}`, value: server.major, threshold: opts.targetMajor });
  }

  const extensionsUpdated: UpgradedCheck['extensionsUpdated'] = [];
  await time('extensions', async () => {
    const { rows } = await pool.query<{ name: string; installed: string; available: string | null }>(
      `SELECT e.extname AS name, e.extversion AS installed, a.default_version AS available
         FROM pg_extension e LEFT JOIN pg_available_extensions a ON a.name = e.extname ORDER BY 1`,
    );
    for (const e of rows) {
      if (!e.available || e.available === e.installed) continue;
      try {
        await pool.query(`ALTER EXTENSION ${ident(e.name)} UPDATE`);
        extensionsUpdated.push({ name: e.name, from: e.installed, to: e.available });
      } catch (err) {
        findings.push({ check: 'upgrade.extension-update', severity: 'critical', target: e.name, message: `ALTER EXTENSION ${e.name} UPDATE failed on ${opts.who}: ${errorMessage(err)}` });
      }
    }
  });
  await time('analyze', async () => {
    await pool.query('ANALYZE');
  });

  const jobs: UpgradedCheck['jobs'] = {};
  const collect = (name: string, outcome: JobOutcome) => {
    const problems = (outcome.findings ?? []).filter((f) => f.severity === 'critical');
    jobs[name] = { status: outcome.status ?? (problems.length ? 'critical' : 'ok'), summary: outcome.summary, problems: problems.length };
    if (outcome.status === 'failed') findings.push({ check: `upgrade.job.${name}`, severity: 'critical', target: opts.who, message: outcome.summary });
    for (const f of problems) findings.push({ ...f, check: `upgrade.${name}.${f.check}`, message: `${name} on ${opts.who}: ${f.message}` });
  };
  collect('install-verification', await time('install-verification', () => runOn(ctx, pool, target, installVerification, { schema: opts.schema })));
  collect('health-check', await time('health-check', () => runOn(ctx, pool, target, healthCheck, { schema: opts.schema })));
  return { findings, major: server.major, version: server.version, extensionsUpdated, jobs, steps };
}
