import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { manifestNames as jobNames } from '../jobs/manifests.js';
import { createPool } from '../platform/db/connection.js';
import type { Queryable } from '../platform/db/sql.js';
import { recentRuns, runById, type RunRow } from '../shared/runner/job-runs.js';
import { errorMessage } from '../platform/redact.js';
import { forInvocation, type RuntimeSource } from './runtime.js';

const listQuery = z
  .object({
    job: z
      .string()
      .refine((j) => jobNames().includes(j), { message: `must be one of: ${jobNames().join(', ')}` })
      .optional(),
    limit: z.coerce.number().int().min(1).max(200).default(20),
  })
  .strict();

const idSchema = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

const shape = (r: RunRow) => ({
  id: Number(r.id),
  job: r.job,
  trigger: r.trigger,
  triggeredBy: r.triggered_by,
  dryRun: r.dry_run,
  status: r.status,
  summary: r.summary,
  startedAt: r.started_at.toISOString(),
  finishedAt: r.finished_at?.toISOString() ?? null,
  durationMs: r.duration_ms,
  ...(r.report !== undefined ? { report: r.report } : {}),
});

async function withPool<T>(runtime: RuntimeSource, context: InvocationContext, fn: (db: Queryable) => Promise<T>): Promise<T> {
  const deps = forInvocation(await runtime(), context);
  const pool = createPool(deps.target, { applicationName: 'dbops:runs-api', lockTimeoutMs: 1000, statementTimeoutMs: 5000, max: 1, connectTimeoutSeconds: 10, ...(deps.credential ? { credential: deps.credential } : {}) }, deps.log);
  try {
    return await fn(pool);
  } finally {
    await pool.end().catch(() => undefined);
  }
}

/** GET /api/maintenance/runs?job=&limit= : the latest runs, newest first. */
export function listRunsHandler(runtime: RuntimeSource) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const parsed = listQuery.safeParse(Object.fromEntries(request.query.entries()));
    if (!parsed.success) return { status: 400, jsonBody: { error: 'Invalid query.', problems: parsed.error.issues.map((i) => `${i.path.join('.') || '(query)'}: ${i.message}`) } };
    try {
      const rows = await withPool(runtime, context, (db) => recentRuns(db, { job: parsed.data.job ?? null, limit: parsed.data.limit }));
      return { status: 200, jsonBody: { runs: rows.map(shape) } };
    } catch (err) {
      return { status: 503, jsonBody: { error: `Cannot read runs: ${errorMessage(err)}` } };
    }
  };
}

/** GET /api/maintenance/runs/{id} : one run with its full report. */
export function getRunHandler(runtime: RuntimeSource) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const id = idSchema.safeParse(request.params.id);
    if (!id.success) return { status: 400, jsonBody: { error: 'The run id must be a positive whole number.' } };
    try {
      const row = await withPool(runtime, context, (db) => runById(db, id.data));
      return row ? { status: 200, jsonBody: shape(row) } : { status: 404, jsonBody: { error: `No run ${id.data}.` } };
    } catch (err) {
      return { status: 503, jsonBody: { error: `Cannot read run: ${errorMessage(err)}` } };
    }
  };
}
