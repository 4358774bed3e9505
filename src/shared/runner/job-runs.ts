import { hostname } from 'node:os';
import type { Queryable } from '../../platform/db/sql.js';
import type { JobReport, JobStatus, Trigger } from '../job.js';
import { redactValue } from '../../platform/redact.js';

/**
 * Every statement on ops.job_run, the record of each run: the runner writes it, the API, the
 * health endpoint, the console and jobs that look back at their own runs read it.
 */

export type RunStatus = JobStatus | 'running' | 'abandoned';

/** One run as stored, without its report. */
export interface RunRow {
  id: string;
  job: string;
  trigger: string;
  triggered_by: string | null;
  dry_run: boolean;
  status: RunStatus;
  summary: string | null;
  started_at: Date;
  finished_at: Date | null;
  duration_ms: number | null;
  report?: JobReport | null;
}

const RUN_COLUMNS = 'id, job, trigger, triggered_by, dry_run, status, summary, started_at, finished_at, duration_ms';

export interface RunStart {
  job: string;
  trigger: Trigger;
  triggeredBy: string | null;
  params: unknown;
  dryRun: boolean;
}

const ABANDONED_SUMMARY = 'The process running this job stopped before it finished; marked by the next run.';

/**
 * The start of a run in one round trip: the job's session-level advisory lock and, only when it
 * was taken, the job's leftover `running` rows marked abandoned (holding the lock proves no live
 * process runs them) and this run's row inserted. The statement's one snapshot keeps the new row
 * out of the UPDATE; a row another process finished meanwhile is re-checked and left alone.
 */
export async function claimRun(
  db: Queryable,
  lockClass: number,
  run: RunStart,
): Promise<{ locked: false } | { locked: true; runId: number; abandoned: number }> {
  const { rows } = await db.query<{ locked: boolean; abandoned: number; id: string | null }>(
    `WITH lock AS MATERIALIZED (SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked),
          abandoned AS (
            UPDATE ops.job_run SET status = 'abandoned', finished_at = now(), summary = $9
             WHERE job = $2 AND status = 'running' AND (SELECT locked FROM lock)
            RETURNING 1),
          run AS (
            INSERT INTO ops.job_run (job, trigger, triggered_by, params, dry_run, status, host, pid)
            SELECT $2, $3, $4, $5, $6, 'running', $7, $8 WHERE (SELECT locked FROM lock)
            RETURNING id)
     SELECT (SELECT locked FROM lock) AS locked, (SELECT count(*) FROM abandoned)::int AS abandoned, (SELECT id FROM run) AS id`,
    [lockClass, run.job, run.trigger, run.triggeredBy, redactValue(run.params ?? {}), run.dryRun, hostname(), process.pid, ABANDONED_SUMMARY],
  );
  const r = rows[0];
  if (!r?.locked) return { locked: false };
  if (r.id === null) throw new Error('ops.job_run returned no id for the new run');
  return { locked: true, runId: Number(r.id), abandoned: r.abandoned };
}

/**
 * The run's outcome recorded and the job's advisory lock released in one round trip; false when
 * the row was not there (the lock is then still held, for the caller to release).
 */
export async function finishRunAndUnlock(db: Queryable, runId: number, report: JobReport, lock: { lockClass: number; job: string }): Promise<boolean> {
  const { rows } = await db.query<{ unlocked: boolean }>(
    `WITH done AS (
       UPDATE ops.job_run SET status = $2, summary = $3, report = $4, finished_at = now(), duration_ms = $5 WHERE id = $1 RETURNING id)
     SELECT pg_advisory_unlock($6, hashtext($7)) AS unlocked FROM done`,
    [runId, report.status, report.summary, report, report.timings.durationMs, lock.lockClass, lock.job],
  );
  return rows[0]?.unlocked === true;
}

/** A run that lost the job's lock: recorded finished, so the history shows it was tried. */
export async function recordSkipped(db: Queryable, run: RunStart, report: JobReport): Promise<number | null> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO ops.job_run (job, trigger, triggered_by, params, dry_run, status, summary, report, host, pid, finished_at, duration_ms)
     VALUES ($1, $2, $3, $4, $5, 'skipped', $6, $7, $8, $9, now(), 0) RETURNING id`,
    [run.job, run.trigger, run.triggeredBy, redactValue(run.params ?? {}), run.dryRun, report.summary, report, hostname(), process.pid],
  );
  return rows[0] ? Number(rows[0].id) : null;
}

/** The newest run of each named job. */
export async function latestRunPerJob(db: Queryable, jobs: readonly string[]): Promise<RunRow[]> {
  const { rows } = await db.query<RunRow>(`SELECT DISTINCT ON (job) ${RUN_COLUMNS} FROM ops.job_run WHERE job = ANY($1) ORDER BY job, started_at DESC`, [jobs]);
  return rows;
}

/** The latest runs, newest first, of one job or of all. */
export async function recentRuns(db: Queryable, options: { job?: string | null; limit: number }): Promise<RunRow[]> {
  const { rows } = await db.query<RunRow>(
    `SELECT ${RUN_COLUMNS} FROM ops.job_run WHERE ($1::text IS NULL OR job = $1) ORDER BY started_at DESC, id DESC LIMIT $2`,
    [options.job ?? null, options.limit],
  );
  return rows;
}

/** One run with its full report. */
export async function runById(db: Queryable, id: number): Promise<RunRow | null> {
  const { rows } = await db.query<RunRow>(`SELECT ${RUN_COLUMNS}, report FROM ops.job_run WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

/** The report of a job's newest finished run that was not a dry run. */
export async function latestReport(db: Queryable, job: string): Promise<JobReport | null> {
  const { rows } = await db.query<{ report: JobReport }>(
    `SELECT report FROM ops.job_run WHERE job = $1 AND report IS NOT NULL AND NOT dry_run ORDER BY started_at DESC LIMIT 1`,
    [job],
  );
  return rows[0]?.report ?? null;
}

/** `report.data.metrics` of a job's runs since `since`, oldest first. */
export async function reportMetricsSince(db: Queryable, job: string, since: Date): Promise<Array<{ at: Date; metrics: Record<string, unknown> | null }>> {
  const { rows } = await db.query<{ at: Date; metrics: Record<string, unknown> | null }>(
    `SELECT started_at AS at, report -> 'data' -> 'metrics' AS metrics FROM ops.job_run
      WHERE job = $1 AND started_at >= $2 AND report IS NOT NULL ORDER BY started_at`,
    [job, since],
  );
  return rows;
}

/** When a job last finished a run whose `report.data` holds `key` (running, skipped and abandoned runs aside). */
export async function lastFinishedWith(db: Queryable, job: string, key: string): Promise<Date | null> {
  const { rows } = await db.query<{ at: Date | null }>(
    `SELECT max(started_at) AS at FROM ops.job_run WHERE job = $1 AND status NOT IN ('running', 'skipped', 'abandoned') AND report -> 'data' ? $2`,
    [job, key],
  );
  return rows[0]?.at ?? null;
}

/** `report.data[field]` of a job's newest run whose data holds `key`. */
export async function latestDataField(db: Queryable, job: string, key: string, field: string): Promise<string | null> {
  const { rows } = await db.query<{ value: string | null }>(
    `SELECT report -> 'data' ->> $3 AS value FROM ops.job_run
      WHERE job = $1 AND report -> 'data' ? $2 ORDER BY started_at DESC LIMIT 1`,
    [job, key, field],
  );
  return rows[0]?.value ?? null;
}
