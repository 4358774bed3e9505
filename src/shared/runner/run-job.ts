import type { TokenCredential } from '@azure/core-auth';
import type pg from 'pg';
import { z } from 'zod';
import type { CoreSettings } from '../config.js';
import { cannotConnect, createPool, type ConnectionTarget } from '../../platform/db/connection.js';
import { actionRecorder } from '../actions.js';
import { serverSessions } from '../../platform/db/session.js';
import { claimRun, finishRunAndUnlock, recordSkipped } from './job-runs.js';
import {
  statusFromFindings,
  type Action,
  type JobContext,
  type JobDatabase,
  type JobDefinition,
  type JobOutcome,
  type JobReport,
  type JobServices,
  type Trigger,
} from '../job.js';
import type { Logger } from '../../platform/log.js';
import { errorMessage, redactValue } from '../../platform/redact.js';
import type { Env } from '../../platform/settings.js';

/** dbops's advisory-lock class id: the two-key form keeps clear of other users' int8 keys. */
export const ADVISORY_LOCK_CLASS = 0x6462; // "db"

/** `data.reason` of a report skipped because another process holds the job. */
export const ALREADY_RUNNING = 'already-running';

export const isAlreadyRunning = (report: { status: string; data: Record<string, unknown> }) =>
  report.status === 'skipped' && report.data.reason === ALREADY_RUNNING;

export class ParamsError extends Error {
  override name = 'ParamsError';
  constructor(
    readonly job: string,
    readonly problems: string[],
  ) {
    super(`Invalid parameters for ${job}: ${problems.join('; ')}`);
  }
}

export interface RunnerDeps {
  target: ConnectionTarget;
  settings: CoreSettings;
  env: Env;
  log: Logger;
  /** The runtime's one Azure credential (PostgreSQL Entra sign-in, every Azure client). */
  credential?: TokenCredential;
  services?: JobServices;
  now?: () => Date;
  /**
   * Told when a run cannot reach the database, and when one reaches it again: the alerting that
   * needs no database (the notifier's state lives there). Failures are logged, never thrown.
   */
  reachability?: {
    unreachable(report: JobReport, target: ConnectionTarget, log: Logger): Promise<void>;
    reachable(report: JobReport, target: ConnectionTarget, log: Logger): Promise<void>;
  };
  /** Called with every finished report (notifications); failures are logged, never thrown. */
  afterRun?: Array<(report: JobReport, ctx: { db: JobDatabase; log: Logger; env: Env; services: JobServices }) => Promise<void>>;
}

export interface RunOptions {
  trigger: Trigger;
  triggeredBy?: string;
  dryRun?: boolean;
  /** Aborts the job's signal after this long; the job decides how to stop cleanly. */
  deadlineMs?: number;
  /** Called with the run id as soon as the run is recorded (the API answers 202 with it). */
  onStarted?: (runId: number) => void;
}

export function parseParams<P>(job: JobDefinition<P>, raw: unknown): P {
  const parsed = job.params.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  throw new ParamsError(
    job.name,
    parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(params)'}: ${i.message}`),
  );
}

/**
 * Runs one job once: validated params, one advisory lock per job (the loser is `skipped`),
 * bounded sessions named after the job, a record in ops.job_run, and any exception turned
 * into a `failed` report whose text has passed through redaction.
 */
export async function runJob<P>(job: JobDefinition<P>, rawParams: unknown, deps: RunnerDeps, options: RunOptions): Promise<JobReport> {
  const params = parseParams(job, rawParams);
  const now = deps.now ?? (() => new Date());
  const started = now();
  const t0 = performance.now();
  const dryRun = options.dryRun ?? false;
  const log = deps.log.child({ job: job.name, trigger: options.trigger, ...(dryRun ? { dryRun } : {}) });
  const pool = createPool(
    deps.target,
    {
      applicationName: `dbops:${job.name}`,
      lockTimeoutMs: deps.settings.lockTimeoutMs,
      statementTimeoutMs: deps.settings.statementTimeoutMs,
      max: 6,
      connectTimeoutSeconds: deps.settings.connectTimeoutSeconds,
      ...(deps.credential ? { credential: deps.credential } : {}),
    },
    log,
  );
  const db = jobDatabase(pool, deps.target);
  const services = deps.services ?? {};
  const finish = (outcome: JobOutcome & { status: JobReport['status'] }, runId: number | null): JobReport => {
    const finished = now();
    return redactValue<JobReport>({
      job: job.name,
      status: outcome.status,
      summary: outcome.summary,
      dryRun,
      trigger: options.trigger,
      runId,
      findings: outcome.findings ?? [],
      actions: outcome.actions ?? [],
      timings: {
        startedAt: started.toISOString(),
        finishedAt: finished.toISOString(),
        durationMs: Math.round(performance.now() - t0),
        steps: outcome.steps ?? {},
      },
      data: outcome.data ?? {},
    });
  };

  let lockClient: pg.PoolClient | undefined;
  let unlocked = false;
  try {
    // Every job queries through the pool while the lock's session is held, so it needs a second
    // connection anyway: open it alongside the first instead of after it (a login is ~20 ms).
    const second = pool.connect().then(
      (c) => c.release(),
      () => undefined,
    );
    try {
      lockClient = await pool.connect();
    } catch (err) {
      await second;
      const report = finish({ status: 'failed', summary: cannotConnect(deps.target, err) }, null);
      await deps.reachability?.unreachable(report, deps.target, log).catch((e: unknown) => log.warn('unreachable-database alert failed', { error: errorMessage(e) }));
      return report;
    }
    const run = { job: job.name, trigger: options.trigger, triggeredBy: options.triggeredBy ?? null, params, dryRun };
    const claim = await claimRun(lockClient, ADVISORY_LOCK_CLASS, run);
    if (!claim.locked) {
      const report = finish({ status: 'skipped', summary: `${job.name} is already running elsewhere; this run skipped.`, data: { reason: ALREADY_RUNNING } }, null);
      report.runId = await recordSkipped(lockClient, run, report).catch(() => null);
      log.info(report.summary);
      return report;
    }
    const { runId, abandoned } = claim;
    if (abandoned > 0) log.warn(`marked ${abandoned} earlier run(s) abandoned`);
    options.onStarted?.(runId);

    const controller = new AbortController();
    const timer = options.deadlineMs ? setTimeout(() => controller.abort(new Error('deadline reached')), options.deadlineMs) : undefined;
    const acted: Action[] = [];
    const ctx: JobContext = {
      job: job.name,
      runId,
      trigger: options.trigger,
      dryRun,
      db,
      withServer: serverSessions({ job: job.name, settings: deps.settings, log, ...(deps.credential ? { credential: deps.credential } : {}) }),
      settings: deps.settings,
      env: deps.env,
      log: log.child({ runId }),
      signal: controller.signal,
      now,
      act: actionRecorder(acted, dryRun),
      services,
    };

    let report: JobReport;
    try {
      const outcome = await job.run(ctx, params);
      const findings = outcome.findings ?? [];
      const actions = [...acted, ...(outcome.actions ?? [])];
      report = finish({ ...outcome, findings, actions, status: outcome.status ?? statusFromFindings(findings) }, runId);
    } catch (err) {
      log.error('job failed', { error: errorMessage(err) });
      report = finish({ status: 'failed', summary: `${job.name} failed: ${errorMessage(err)}`, actions: acted }, runId);
    } finally {
      if (timer) clearTimeout(timer);
    }

    if (await finishRunAndUnlock(lockClient, runId, report, { lockClass: ADVISORY_LOCK_CLASS, job: job.name })) unlocked = true;
    await deps.reachability?.reachable(report, deps.target, log).catch((e: unknown) => log.warn('reachable-again alert failed', { error: errorMessage(e) }));
    for (const hook of deps.afterRun ?? []) {
      await hook(report, { db, log, env: deps.env, services }).catch((err: unknown) =>
        log.warn('after-run hook failed', { error: errorMessage(err) }),
      );
    }
    return report;
  } catch (err) {
    const message = errorMessage(err);
    const hint = /relation "ops\.job_run" does not exist|schema "ops" does not exist/.test(message)
      ? ' — the database has no dbops schema yet: run `dbops migrate` first.'
      : '';
    return finish({ status: 'failed', summary: `${job.name} could not run: ${message}${hint}` }, null);
  } finally {
    if (lockClient) {
      if (!unlocked) await lockClient.query('SELECT pg_advisory_unlock($1, hashtext($2))', [ADVISORY_LOCK_CLASS, job.name]).catch(() => undefined);
      lockClient.release();
    }
    // Awaited: a caller that stops the server next (the demo, the tests) must find no session open.
    await pool.end().catch(() => undefined);
  }
}

export function jobDatabase(pool: pg.Pool, target: ConnectionTarget): JobDatabase {
  return {
    pool,
    target,
    query: (text, values) => pool.query(text, values),
    async withClient(fn) {
      const client = await pool.connect();
      try {
        return await fn(client);
      } finally {
        client.release();
      }
    },
    async withTransaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
  };
}

/** Params helpers that accept both JSON values (HTTP) and strings (CLI `--param k=v`). */
export const paramBool = () =>
  z.preprocess((v) => {
    if (typeof v !== 'string') return v;
    const s = v.toLowerCase();
    return ['true', '1', 'yes', 'on'].includes(s) ? true : ['false', '0', 'no', 'off'].includes(s) ? false : v;
  }, z.boolean({ message: 'expected true or false' }));
export const paramInt = (min: number, max: number) =>
  z.coerce.number().int().min(min, { message: `must be at least ${min}` }).max(max, { message: `must be at most ${max}` });
