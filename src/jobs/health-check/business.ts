import { qualified } from '../../platform/db/sql.js';
import type { Finding } from '../../shared/job.js';
import { PLAN_TABLES } from '../../shared/plan.js';
import { formatDuration, round, whenAbove, whenBelow, type CheckContext, type CheckResult, type HealthCheck } from './check.js';

/** A failure trend says nothing below this many failures in the window. */
const MIN_FAILURES_FOR_TREND = 10;
/**
 * With a few hundred calls a day, a failure rate doubles by chance often enough to page
 * someone: a rise counts only when a two-proportion z-test puts it beyond chance.
 */
const MIN_Z_FOR_TREND = 3;

function twoProportionZ(a: Tally, b: Tally): number {
  if (a.total === 0 || b.total === 0) return 0;
  const pooled = (a.failed + b.failed) / (a.total + b.total);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / a.total + 1 / b.total));
  return se === 0 ? 0 : (a.failed / a.total - b.failed / b.total) / se;
}

export interface Windows {
  /** Start of the previous window (for the trend). */
  previousFrom: Date;
  /** Start of the current window. */
  from: Date;
  to: Date;
}

export function windowsFor(now: Date, hours: number): Windows {
  const ms = hours * 3_600_000;
  return { previousFrom: new Date(now.getTime() - 2 * ms), from: new Date(now.getTime() - ms), to: now };
}

/**
 * Finished change requests in both windows through idx_pc_history_status_date
 * (process_status, requested_at DESC): the status list and the time range are both index
 * conditions, so only the windows' rows are read. Requests still in flight are not counted.
 */
export function productChangeQuery(schema: string, w: Windows): { text: string; values: unknown[] } {
  return {
    text: `SELECT count(*) FILTER (WHERE process_status = 'COMPLETED' AND requested_at >= $2) AS completed,
                  count(*) FILTER (WHERE process_status = 'FAILED' AND requested_at >= $2) AS failed,
                  count(*) FILTER (WHERE process_status = 'FAILED' AND requested_at < $2) AS failed_before,
                  count(*) FILTER (WHERE requested_at < $2) AS finished_before,
                  avg(extract(epoch FROM processed_at - requested_at)) FILTER (WHERE process_status = 'COMPLETED' AND requested_at >= $2)::float8 AS avg_s
             FROM ${qualified(schema, PLAN_TABLES.history)}
            WHERE process_status IN ('COMPLETED', 'FAILED') AND requested_at >= $1 AND requested_at < $3`,
    values: [w.previousFrom, w.from, w.to],
  };
}

/**
 * KOS calls per integration type in both windows through idx_kos_log_type_success_date
 * (integration_type, is_success, created_at DESC). PostgreSQL 14 has no skip scan, so the
 * types are found first with a loose index scan (one index probe per type), and then all
 * three columns are index conditions. Partition pruning keeps it to the windows' partitions.
 */
export function kosQuery(schema: string, w: Windows): { text: string; values: unknown[] } {
  const log = qualified(schema, PLAN_TABLES.kosLog);
  return {
    text: `WITH RECURSIVE types AS (
             (SELECT integration_type FROM ${log} WHERE created_at >= $1 AND created_at < $3 ORDER BY integration_type LIMIT 1)
             UNION ALL
             SELECT (SELECT l.integration_type FROM ${log} l
                      WHERE l.integration_type > t.integration_type AND l.created_at >= $1 AND l.created_at < $3
                      ORDER BY l.integration_type LIMIT 1)
               FROM types t WHERE t.integration_type IS NOT NULL)
           SELECT integration_type,
                  count(*) FILTER (WHERE is_success AND created_at >= $2) AS ok,
                  count(*) FILTER (WHERE NOT is_success AND created_at >= $2) AS failed,
                  count(*) FILTER (WHERE NOT is_success AND created_at < $2) AS failed_before,
                  count(*) FILTER (WHERE created_at < $2) AS total_before
             FROM ${log}
            WHERE integration_type = ANY (ARRAY(SELECT integration_type FROM types WHERE integration_type IS NOT NULL))
              AND is_success IN (true, false) AND created_at >= $1 AND created_at < $3
            GROUP BY integration_type ORDER BY integration_type`,
    values: [w.previousFrom, w.from, w.to],
  };
}

interface Tally {
  failed: number;
  total: number;
}

/** Compares failure rates, not counts: traffic differs from one day to the next. */
function trendFinding(check: string, what: string, now: Tally, before: Tally, c: CheckContext): Finding {
  const hours = c.windowHours;
  const rate = (t: Tally) => (t.total > 0 ? (100 * t.failed) / t.total : null);
  const rNow = rate(now);
  const rBefore = rate(before);
  const change = rNow !== null && rBefore !== null && rBefore > 0 ? (100 * (rNow - rBefore)) / rBefore : null;
  const rising =
    now.failed >= MIN_FAILURES_FOR_TREND &&
    (rBefore === 0 || (change !== null && change > c.settings.errorTrendWarningPercent)) &&
    twoProportionZ(now, before) > MIN_Z_FOR_TREND;
  const show = (t: Tally, r: number | null) => `${t.failed} of ${t.total}${r === null ? '' : ` (${round(r, 1)} %)`}`;
  return {
    check,
    severity: rising ? 'warning' : 'info',
    message: `failed ${what}: ${show(now, rNow)} in the last ${hours} h against ${show(before, rBefore)} in the ${hours} h before${change === null ? '' : `, failure rate ${change >= 0 ? '+' : ''}${round(change, 0)} %`}`,
    value: rNow === null ? null : round(rNow, 2),
    threshold: c.settings.errorTrendWarningPercent,
    unit: '%',
    details: { failed: now.failed, total: now.total, previousFailed: before.failed, previousTotal: before.total, changePercent: change === null ? null : round(change, 1) },
  };
}

export const productChangeCheck: HealthCheck = {
  name: 'business.product-change',
  async run(c): Promise<CheckResult> {
    const w = windowsFor(c.now, c.windowHours);
    const q = productChangeQuery(c.schema, w);
    const { rows } = await c.db.query<{ completed: string; failed: string; failed_before: string; finished_before: string; avg_s: number | null }>(q.text, q.values);
    const r = rows[0]!;
    const completed = Number(r.completed);
    const failed = Number(r.failed);
    const finished = completed + failed;
    const s = c.settings;
    const findings: Finding[] = [];
    const pct = finished > 0 ? (100 * completed) / finished : null;
    if (pct === null) {
      findings.push({ check: 'business.pc-success', severity: 'info', message: `no product change finished in the last ${c.windowHours} h` });
    } else {
      const sev = whenBelow(pct, s.pcSuccessWarningPercent, s.pcSuccessCriticalPercent);
      findings.push({
        check: 'business.pc-success',
        severity: sev,
        message: `product-change success rate ${round(pct, 1)} % (${completed} completed, ${failed} failed in the last ${c.windowHours} h; target above 95 %)`,
        value: round(pct, 2),
        threshold: sev === 'critical' ? s.pcSuccessCriticalPercent : s.pcSuccessWarningPercent,
        unit: '%',
        ...(sev !== 'info' ? { remedy: `SELECT error_code, count(*) FROM ${qualified(c.schema, PLAN_TABLES.history)} WHERE process_status = 'FAILED' AND requested_at >= now() - interval '${c.windowHours} hours' GROUP BY 1 ORDER BY 2 DESC` } : {}),
      });
    }
    const avg = r.avg_s;
    if (avg !== null) {
      const sev = whenAbove(avg, s.processingWarningSeconds, s.processingCriticalSeconds);
      findings.push({
        check: 'business.processing-time',
        severity: sev,
        message: `average processing time ${formatDuration(avg)} for completed product changes (target under 5 s)`,
        value: round(avg, 2),
        threshold: sev === 'critical' ? s.processingCriticalSeconds : s.processingWarningSeconds,
        unit: 's',
      });
    }
    findings.push(trendFinding('business.pc-error-trend', 'product changes', { failed, total: finished }, { failed: Number(r.failed_before), total: Number(r.finished_before) }, c));
    return {
      findings,
      metrics: {
        'business.pc-success.percent': pct === null ? null : round(pct, 2),
        'business.pc-finished': finished,
        'business.pc-failed': failed,
        'business.processing.seconds': avg === null ? null : round(avg, 2),
      },
    };
  },
};

export const kosCheck: HealthCheck = {
  name: 'business.kos',
  async run(c): Promise<CheckResult> {
    const w = windowsFor(c.now, c.windowHours);
    const q = kosQuery(c.schema, w);
    const { rows } = await c.db.query<{ integration_type: string; ok: string; failed: string; failed_before: string; total_before: string }>(q.text, q.values);
    const ok = rows.reduce((n, r) => n + Number(r.ok), 0);
    const failed = rows.reduce((n, r) => n + Number(r.failed), 0);
    const failedBefore = rows.reduce((n, r) => n + Number(r.failed_before), 0);
    const totalBefore = rows.reduce((n, r) => n + Number(r.total_before), 0);
    const total = ok + failed;
    const s = c.settings;
    const pct = total > 0 ? (100 * ok) / total : null;
    const byType = Object.fromEntries(
      rows.map((r) => {
        const n = Number(r.ok) + Number(r.failed);
        return [r.integration_type, { calls: n, failed: Number(r.failed), successPercent: n > 0 ? round((100 * Number(r.ok)) / n, 2) : null }];
      }),
    );
    const findings: Finding[] = [];
    if (pct === null) {
      findings.push({ check: 'business.kos-success', severity: 'info', message: `no KOS call logged in the last ${c.windowHours} h` });
    } else {
      const sev = whenBelow(pct, s.kosSuccessWarningPercent, s.kosSuccessCriticalPercent);
      const worst = Object.entries(byType).sort((a, b) => (a[1].successPercent ?? 100) - (b[1].successPercent ?? 100))[0];
      findings.push({
        check: 'business.kos-success',
        severity: sev,
        message: `KOS integration success rate ${round(pct, 1)} % (${total} calls, ${failed} failed in the last ${c.windowHours} h; target above 98 %)${sev !== 'info' && worst ? `; lowest: ${worst[0]} ${worst[1].successPercent} %` : ''}`,
        value: round(pct, 2),
        threshold: sev === 'critical' ? s.kosSuccessCriticalPercent : s.kosSuccessWarningPercent,
        unit: '%',
        details: { byType },
      });
    }
    findings.push(trendFinding('business.kos-error-trend', 'KOS calls', { failed, total }, { failed: failedBefore, total: totalBefore }, c));
    return {
      findings,
      metrics: { 'business.kos-success.percent': pct === null ? null : round(pct, 2), 'business.kos-calls': total, 'business.kos-failed': failed },
    };
  },
};
