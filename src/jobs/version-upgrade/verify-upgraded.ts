import type pg from 'pg';
import type { ConnectionTarget } from '../../platform/db/connection.js';
import { ident } from '../../platform/db/sql.js';
import { errorMessage } from '../../platform/redact.js';
import { stepTimer, type Finding, type JobContext, type JobOutcome } from '../../shared/job.js';
import { readServerVersion } from '../../shared/postgres-lifecycle.js';
import { runJobOn } from '../../shared/verify/job-on-server.js';

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
  const { steps, timed: time } = stepTimer();
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
      const statement = `ALTER EXTENSION ${ident(e.name)} UPDATE`;
      try {
        await ctx.act(`update extension ${e.name} ${e.installed} → ${e.available} on ${opts.who}`, statement, () => pool.query(statement));
        extensionsUpdated.push({ name: e.name, from: e.installed, to: e.available });
      } catch (err) {
        findings.push({ check: 'upgrade.extension-update', severity: 'critical', target: e.name, message: `ALTER EXTENSION ${e.name} UPDATE failed on ${opts.who}: ${errorMessage(err)}` });
      }
    }
  });
  await time('analyze', () => ctx.act(`rebuild the statistics pg_upgrade does not carry over on ${opts.who}`, 'ANALYZE', () => pool.query('ANALYZE')));

  const jobs: UpgradedCheck['jobs'] = {};
  const collect = (name: string, outcome: JobOutcome) => {
    const problems = (outcome.findings ?? []).filter((f) => f.severity === 'critical');
    jobs[name] = { status: outcome.status ?? (problems.length ? 'critical' : 'ok'), summary: outcome.summary, problems: problems.length };
    if (outcome.status === 'failed') findings.push({ check: `upgrade.job.${name}`, severity: 'critical', target: opts.who, message: outcome.summary });
    for (const f of problems) findings.push({ ...f, check: `upgrade.${name}.${f.check}`, message: `${name} on ${opts.who}: ${f.message}` });
  };
  // Found through the registry (ctx.services.jobs): a job never imports another.
  for (const name of ['install-verification', 'health-check']) {
    collect(name, await time(name, () => runJobOn(ctx, pool, target, name, { schema: opts.schema }, 'the upgraded server')));
  }
  return { findings, major: server.major, version: server.version, extensionsUpdated, jobs, steps };
}
