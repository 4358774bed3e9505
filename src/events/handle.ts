import { createPool } from '../platform/db/connection.js';
import type { JobStatus, RegisteredJob, Trigger } from '../shared/job.js';
import { errorMessage } from '../platform/redact.js';
import { runJob, type RunnerDeps } from '../shared/runner/run-job.js';
import { routingConfigFromEnv } from './config.js';
import { markSignal, recordSignal } from './inbox.js';
import { normalizeSignals, type NormalizedSignal } from './normalize.js';
import { routeSignal } from './route.js';

export interface SignalOutcome {
  id: string;
  kind: NormalizedSignal['kind'];
  outcome: 'ran' | 'duplicate' | 'ignored' | 'unreadable' | 'failed';
  reason: string;
  job?: string;
  status?: JobStatus;
  runId?: number | null;
}

/**
 * What every event and alert trigger does: normalise, record in the inbox before acting (a
 * redelivery is acknowledged and ignored), route, and run the job the route names with the
 * params the job derives from the signal. Never throws for a bad signal: it is reported.
 */
export async function handleSignals(
  payload: unknown,
  options: { source: string; trigger: Trigger; deps: RunnerDeps; findJob: (name: string) => Promise<RegisteredJob | undefined> | RegisteredJob | undefined },
): Promise<SignalOutcome[]> {
  const { deps } = options;
  const signals = normalizeSignals(payload);
  const config = routingConfigFromEnv(deps.env);
  const pool = createPool(deps.target, { applicationName: 'dbops:events', lockTimeoutMs: 2000, statementTimeoutMs: 10_000, max: 1, connectTimeoutSeconds: deps.settings.connectTimeoutSeconds, ...(deps.credential ? { credential: deps.credential } : {}) }, deps.log);
  const outcomes: SignalOutcome[] = [];
  try {
    for (const signal of signals) {
      if (signal.problem) {
        deps.log.warn(`rejected ${options.source} payload element: ${signal.problem}`, { id: signal.id });
        outcomes.push({ id: signal.id, kind: signal.kind, outcome: 'unreadable', reason: signal.problem });
        continue;
      }
      if (!(await recordSignal(pool, signal, options.source, payload))) {
        deps.log.info('duplicate signal acknowledged', { id: signal.id, kind: signal.kind });
        outcomes.push({ id: signal.id, kind: signal.kind, outcome: 'duplicate', reason: 'already received' });
        continue;
      }
      const route = routeSignal(signal, config);
      if (route.action === 'ignore') {
        await markSignal(pool, signal.id, 'ignored', route.reason);
        outcomes.push({ id: signal.id, kind: signal.kind, outcome: 'ignored', reason: route.reason });
        continue;
      }
      const job = await options.findJob(route.job);
      if (!job) {
        await markSignal(pool, signal.id, 'failed', `job ${route.job} is not available in this build`);
        outcomes.push({ id: signal.id, kind: signal.kind, outcome: 'failed', reason: `job ${route.job} is not available`, job: route.job });
        continue;
      }
      try {
        const report = await runJob(job, job.fromSignal?.(signal) ?? {}, deps, { trigger: options.trigger, triggeredBy: `${options.source}:${signal.id}` });
        await markSignal(pool, signal.id, report.status === 'failed' ? 'failed' : 'processed', `${route.reason}: ${report.summary}`, report.runId);
        outcomes.push({ id: signal.id, kind: signal.kind, outcome: 'ran', reason: route.reason, job: job.name, status: report.status, runId: report.runId });
      } catch (err) {
        await markSignal(pool, signal.id, 'failed', errorMessage(err));
        outcomes.push({ id: signal.id, kind: signal.kind, outcome: 'failed', reason: errorMessage(err), job: job.name });
      }
    }
  } finally {
    await pool.end().catch(() => undefined);
  }
  return outcomes;
}
