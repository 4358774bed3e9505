import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { manifestNames as jobNames } from '../jobs/manifests.js';
import { latestRunPerJob } from '../shared/runner/job-runs.js';
import { createPool } from '../platform/db/connection.js';
import { errorMessage } from '../platform/redact.js';
import { forInvocation, type RuntimeSource } from './runtime.js';

/**
 * GET /api/health: is the app configured and can it reach its database; the last run of each
 * job. Never shows a setting's value, a host's credentials or an error's secret.
 */
export function healthHandler(runtime: RuntimeSource) {
  return async (_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    let deps;
    try {
      deps = forInvocation(await runtime(), context);
    } catch (err) {
      return { status: 503, jsonBody: { status: 'misconfigured', error: errorMessage(err) } };
    }
    const pool = createPool(deps.target, { applicationName: 'dbops:health-endpoint', lockTimeoutMs: 1000, statementTimeoutMs: 5000, max: 1, connectTimeoutSeconds: 10, ...(deps.credential ? { credential: deps.credential } : {}) }, deps.log);
    try {
      const rows = await latestRunPerJob(pool, jobNames());
      return {
        status: 200,
        jsonBody: {
          status: 'ok',
          environment: deps.settings.environment,
          database: 'reachable',
          jobs: Object.fromEntries(rows.map((r) => [r.job, { status: r.status, finishedAt: r.finished_at?.toISOString() ?? null }])),
        },
      };
    } catch (err) {
      return { status: 503, jsonBody: { status: 'unhealthy', environment: deps.settings.environment, database: 'unreachable', error: errorMessage(err) } };
    } finally {
      await pool.end().catch(() => undefined);
    }
  };
}
