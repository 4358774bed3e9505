import type { Finding } from '../../shared/job.js';
import { formatBytes, formatDuration, round, whenAbove, type CheckResult, type HealthCheck } from './check.js';
import { counterDelta, secondsBetween } from './snapshot.js';

/** Fewer transactions than this in the interval say nothing about the rollback share. */
const MIN_TRANSACTIONS = 100;

/**
 * Rollback ratio and temporary files over the interval since a snapshot a minute or more old,
 * from the pg_stat_database counters the database-stats check gathered earlier in this run.
 */
export const activityCheck: HealthCheck = {
  name: 'activity',
  async run(c): Promise<CheckResult> {
    const s = c.settings;
    const cur = c.counters;
    const base = c.history.minuteAgo;
    const seconds = base ? secondsBetween(c.now, base.takenAt) : null;
    const findings: Finding[] = [];
    const metrics: Record<string, number | null> = {};

    const xacts = counterDelta(cur, base, 'transactions');
    const rollbacks = counterDelta(cur, base, 'rollbacks');
    if (xacts === null || rollbacks === null || !seconds) {
      metrics['rollback.percent'] = null;
      findings.push({ check: 'rollback-ratio', severity: 'info', message: 'rollback ratio: no snapshot a minute or more old to compare with yet' });
    } else if (xacts < MIN_TRANSACTIONS) {
      metrics['rollback.percent'] = null;
      findings.push({ check: 'rollback-ratio', severity: 'info', message: `rollback ratio: too few transactions (${xacts}) over the last ${formatDuration(seconds)} to judge` });
    } else {
      const pct = (100 * rollbacks) / xacts;
      metrics['rollback.percent'] = round(pct, 2);
      const sev = whenAbove(pct, s.rollbackWarningPercent, null);
      findings.push({
        check: 'rollback-ratio',
        severity: sev,
        message: `${round(pct, 1)} % of ${xacts} transactions rolled back over the last ${formatDuration(seconds)} (warning above ${s.rollbackWarningPercent} %)`,
        value: round(pct, 2),
        threshold: s.rollbackWarningPercent,
        unit: '%',
        ...(sev !== 'info' ? { remedy: 'the server log has each failing statement (log_min_error_statement); look for constraint violations, serialization failures or an application that rolls back by default' } : {}),
      });
    }

    const files = counterDelta(cur, base, 'tempFiles');
    const bytes = counterDelta(cur, base, 'tempBytes');
    if (files === null || bytes === null || !seconds) {
      metrics['temp-files.bytes-per-hour'] = null;
      findings.push({ check: 'temp-files', severity: 'info', message: 'temporary files: no snapshot a minute or more old to compare with yet' });
    } else {
      const perHour = (bytes * 3600) / seconds;
      metrics['temp-files.bytes-per-hour'] = Math.round(perHour);
      metrics['temp-files.count'] = files;
      const sev = whenAbove(perHour, s.tempBytesPerHourWarning, null);
      findings.push({
        check: 'temp-files',
        severity: sev,
        message: `${files} temporary file${files === 1 ? '' : 's'} (${formatBytes(bytes)}) written by queries over the last ${formatDuration(seconds)}, ${formatBytes(perHour)} an hour (warning above ${formatBytes(s.tempBytesPerHourWarning)})`,
        value: Math.round(perHour),
        threshold: s.tempBytesPerHourWarning,
        unit: 'bytes/h',
        ...(sev !== 'info' ? { remedy: 'sorts and hashes spill to disk beyond work_mem: find them with log_temp_files or pg_stat_statements.temp_blks_written, then add an index or raise work_mem for that role or query' } : {}),
      });
    }
    return { findings, metrics };
  },
};
