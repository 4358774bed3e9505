import type { Finding } from '../../shared/job.js';
import { formatDuration, round, type CheckResult, type HealthCheck } from './check.js';
import { counterDelta, secondsBetween } from './snapshot.js';

/** Fewer checkpoints than this in the interval say nothing about their mix. */
const MIN_CHECKPOINTS = 3;
/**
 * Nor does a short interval: CREATE DATABASE, a base backup or a restart request a checkpoint
 * each, and minutes after one of those every checkpoint seen is "requested". An hour holds
 * several checkpoint_timeout periods (5 min by default).
 */
const MIN_INTERVAL_SECONDS = 3600;

/**
 * Checkpoints requested (WAL reached max_wal_size, or a CHECKPOINT) against timed ones
 * (checkpoint_timeout), since an earlier snapshot. PostgreSQL 17 moved the counters from
 * pg_stat_bgwriter to pg_stat_checkpointer: which one is read is decided by the catalog.
 */
export const checkpointsCheck: HealthCheck = {
  name: 'checkpoints',
  async run(c): Promise<CheckResult> {
    const { rows: which } = await c.db.query<{ checkpointer: boolean }>(`SELECT to_regclass('pg_catalog.pg_stat_checkpointer') IS NOT NULL AS checkpointer`);
    const sql = which[0]?.checkpointer
      ? 'SELECT num_timed AS timed, num_requested AS requested, stats_reset FROM pg_catalog.pg_stat_checkpointer'
      : 'SELECT checkpoints_timed AS timed, checkpoints_req AS requested, stats_reset FROM pg_catalog.pg_stat_bgwriter';
    const { rows } = await c.db.query<{ timed: string; requested: string; stats_reset: Date | null }>(sql);
    const r = rows[0]!;
    const counters = { checkpointsTimed: Number(r.timed), checkpointsRequested: Number(r.requested), checkpointerReset: r.stats_reset ? r.stats_reset.toISOString() : null };
    const base = c.history.dayAgo ?? c.history.hourAgo;
    const timed = counterDelta(counters, base, 'checkpointsTimed');
    const requested = counterDelta(counters, base, 'checkpointsRequested');
    const s = c.settings;
    const findings: Finding[] = [];
    let pct: number | null = null;
    if (timed === null || requested === null || !base) {
      findings.push({ check: 'checkpoints', severity: 'info', message: 'checkpoints: no earlier snapshot to compare with yet (or their statistics were reset)' });
    } else if (secondsBetween(c.now, base.takenAt) < MIN_INTERVAL_SECONDS) {
      findings.push({ check: 'checkpoints', severity: 'info', message: `checkpoints: the last snapshot is ${formatDuration(secondsBetween(c.now, base.takenAt))} old, too short an interval to judge their mix (an hour at least)` });
    } else if (timed + requested < MIN_CHECKPOINTS) {
      findings.push({ check: 'checkpoints', severity: 'info', message: `checkpoints: ${timed + requested} over the last ${formatDuration(secondsBetween(c.now, base.takenAt))}, too few to judge` });
    } else {
      pct = (100 * requested) / (timed + requested);
      const sev = pct > s.checkpointsRequestedWarningPercent ? 'warning' : 'info';
      findings.push({
        check: 'checkpoints',
        severity: sev,
        message: `${requested} of ${timed + requested} checkpoints over the last ${formatDuration(secondsBetween(c.now, base.takenAt))} were requested rather than timed (${round(pct, 1)} %, warning above ${s.checkpointsRequestedWarningPercent} %)`,
        value: round(pct, 1),
        threshold: s.checkpointsRequestedWarningPercent,
        unit: '%',
        ...(sev !== 'info' ? { remedy: 'WAL reaches max_wal_size before checkpoint_timeout: raise max_wal_size (server parameter) so checkpoints come on the timer, with fewer full-page writes' } : {}),
      });
    }
    return { findings, counters, metrics: { 'checkpoints.requested-percent': pct === null ? null : round(pct, 1) } };
  },
};
