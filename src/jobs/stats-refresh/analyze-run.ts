import type pg from 'pg';
import { isLockTimeout, isStatementTimeout, qualified } from '../../platform/db/sql.js';
import type { Action, Finding, JobDatabase } from '../../shared/job.js';
import { errorMessage } from '../../platform/redact.js';
import { recordBaseline, type AnalyzeTarget } from './analyze-plan.js';

export interface AnalyzeBounds {
  lockTimeoutMs: number;
  statementTimeoutMs: number;
}

export interface AnalyzeOutcome {
  actions: Action[];
  findings: Finding[];
  analyzed: number;
}

export const analyzeStatement = (t: Pick<AnalyzeTarget, 'schema' | 'name'>) => `ANALYZE ${qualified(t.schema, t.name)}`;

const describe = (t: AnalyzeTarget) =>
  `analyze ${t.kind} ${t.schema}.${t.name}: ${t.reason}${t.covers?.length ? ` (analyzes its ${t.covers.length} partitions too)` : ''}`;

export function plannedActions(targets: readonly AnalyzeTarget[]): Action[] {
  return targets.map((t) => ({ description: describe(t), statement: analyzeStatement(t), status: 'planned', details: details(t) }));
}

function details(t: AnalyzeTarget): Record<string, unknown> {
  return { kind: t.kind, reason: t.reason, changes: t.changes, threshold: t.threshold, ...(t.covers ? { partitions: t.covers } : {}) };
}

/**
 * ANALYZE one relation on its own session with its own bounds, so a table held by another
 * session costs at most the lock timeout and the run goes on. Without ownership PostgreSQL
 * only warns ("skipping ...") and succeeds, so notices are read to tell that apart.
 */
async function analyzeOne(client: pg.PoolClient, t: AnalyzeTarget, bounds: AnalyzeBounds): Promise<{ skippedNotice?: string }> {
  const notices: string[] = [];
  const onNotice = (n: { message?: string }) => notices.push(n.message ?? '');
  client.on('notice', onNotice);
  try {
    await client.query(`SET lock_timeout = ${Math.trunc(bounds.lockTimeoutMs)}`);
    await client.query(`SET statement_timeout = ${Math.trunc(bounds.statementTimeoutMs)}`);
    await client.query(analyzeStatement(t));
  } finally {
    client.off('notice', onNotice);
    // Back to the job's own bounds (the connection's startup values) before the pool reuses it.
    await client.query('RESET lock_timeout; RESET statement_timeout').catch(() => undefined);
  }
  const skipped = notices.find((m) => /^skipping /.test(m));
  return skipped ? { skippedNotice: skipped } : {};
}

export async function runAnalyzes(db: JobDatabase, targets: readonly AnalyzeTarget[], bounds: AnalyzeBounds, signal: AbortSignal): Promise<AnalyzeOutcome> {
  const actions: Action[] = [];
  const findings: Finding[] = [];
  let analyzed = 0;
  for (const t of targets) {
    const statement = analyzeStatement(t);
    const target = `${t.schema}.${t.name}`;
    if (signal.aborted) {
      actions.push({ description: describe(t), statement, status: 'skipped', error: 'the run reached its deadline', details: details(t) });
      continue;
    }
    const started = performance.now();
    try {
      const { skippedNotice } = await db.withClient((client) => analyzeOne(client, t, bounds));
      const durationMs = Math.round(performance.now() - started);
      if (skippedNotice) {
        actions.push({ description: describe(t), statement, status: 'failed', durationMs, error: skippedNotice, details: details(t) });
        findings.push({
          check: 'analyze.not-permitted',
          severity: 'warning',
          target,
          message: `${target} was not analyzed: ${skippedNotice}`,
          remedy: `Run stats-refresh as the table's owner, or: ${statement}`,
        });
        continue;
      }
      actions.push({ description: describe(t), statement, status: 'done', durationMs, details: details(t) });
      analyzed++;
      if (t.baseline) await recordBaseline(db, t.baseline);
    } catch (err) {
      const durationMs = Math.round(performance.now() - started);
      const error = errorMessage(err);
      actions.push({ description: describe(t), statement, status: 'failed', durationMs, error, details: details(t) });
      if (isLockTimeout(err)) {
        findings.push({
          check: 'analyze.lock-timeout',
          severity: 'warning',
          target,
          message: `${target} was locked by another session for more than ${bounds.lockTimeoutMs} ms; not analyzed this run`,
          value: durationMs,
          threshold: bounds.lockTimeoutMs,
          unit: 'ms',
          remedy: statement,
        });
      } else if (isStatementTimeout(err)) {
        findings.push({
          check: 'analyze.timeout',
          severity: 'warning',
          target,
          message: `ANALYZE of ${target} took longer than ${bounds.statementTimeoutMs} ms and was cancelled`,
          value: durationMs,
          threshold: bounds.statementTimeoutMs,
          unit: 'ms',
          remedy: `Raise DBOPS_ANALYZE_STATEMENT_TIMEOUT_MS, or run off-peak: ${statement}`,
        });
      } else {
        findings.push({ check: 'analyze.failed', severity: 'warning', target, message: `ANALYZE of ${target} failed: ${error}`, remedy: statement });
      }
    }
  }
  return { actions, findings, analyzed };
}
