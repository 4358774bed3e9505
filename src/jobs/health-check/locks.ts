import type { Finding } from '../../shared/job.js';
import { round, whenAbove, type CheckResult, type HealthCheck } from './check.js';

interface ModeRow { mode: string; granted: number; waiting: number }

/**
 * Locks held and awaited, by mode, server-wide; the lock table's size is
 * max_locks_per_transaction × (max_connections + max_prepared_transactions), and a full one
 * fails transactions with "out of shared memory". The sessions check names who waits on whom.
 */
export const locksCheck: HealthCheck = {
  name: 'locks',
  async run(c): Promise<CheckResult> {
    const s = c.settings;
    const { rows } = await c.db.query<{ modes: ModeRow[] | null; capacity: number }>(
      `SELECT (SELECT json_agg(m ORDER BY m.mode) FROM (
                 SELECT mode, count(*) FILTER (WHERE granted)::int AS granted, count(*) FILTER (WHERE NOT granted)::int AS waiting
                   FROM pg_locks WHERE pid <> pg_backend_pid() GROUP BY mode) m) AS modes,
              current_setting('max_locks_per_transaction')::int * (current_setting('max_connections')::int + current_setting('max_prepared_transactions')::int) AS capacity`,
    );
    const r = rows[0]!;
    const modes = r.modes ?? [];
    const granted = modes.reduce((n, m) => n + m.granted, 0);
    const waiting = modes.reduce((n, m) => n + m.waiting, 0);
    const usedPct = (100 * (granted + waiting)) / Math.max(1, r.capacity);
    const byMode = Object.fromEntries(modes.map((m) => [m.mode, { granted: m.granted, waiting: m.waiting }]));
    const text = modes.map((m) => `${m.mode} ${m.granted}${m.waiting ? ` (+${m.waiting} waiting)` : ''}`).join(', ') || 'none';
    const findings: Finding[] = [];
    const waitSev = whenAbove(waiting, s.locksWaitingWarning, null);
    findings.push({
      check: 'locks.waiting',
      severity: waitSev,
      message: `${waiting} lock request${waiting === 1 ? '' : 's'} waiting, ${granted} held: ${text}`,
      value: waiting,
      threshold: s.locksWaitingWarning,
      details: { byMode },
      ...(waitSev !== 'info' ? { remedy: 'see the sessions.lock-wait findings for the blockers; an AccessExclusiveLock waiter (DDL) queues every later reader behind it: cancel the DDL or the blocker' } : {}),
    });
    const tableSev = whenAbove(usedPct, s.lockTableWarningPercent, null);
    if (tableSev !== 'info') {
      findings.push({
        check: 'locks.table-full',
        severity: tableSev,
        message: `${granted + waiting} locks use ${round(usedPct, 1)} % of the lock table (${r.capacity}); when it is full, transactions fail with "out of shared memory"`,
        value: round(usedPct, 1),
        threshold: s.lockTableWarningPercent,
        unit: '%',
        remedy: 'look for transactions touching many partitions or tables at once; raise max_locks_per_transaction (restart) if that is by design',
      });
    }
    return { findings, metrics: { 'locks.granted': granted, 'locks.waiting': waiting, 'locks.access-exclusive': byMode['AccessExclusiveLock']?.granted ?? 0 } };
  },
};
