import type { Finding } from '../../shared/job.js';
import { formatDuration, round, type CheckResult, type HealthCheck } from './check.js';

interface TxRow { pid: number; datname: string | null; usename: string | null; application_name: string; state: string | null; xact_s: number; state_s: number | null; query: string }

const who = (r: TxRow) => `pid ${r.pid} (${r.usename ?? '?'}${r.application_name ? `, ${r.application_name}` : ''}) in ${r.datname ?? '?'}`;
const oneLine = (q: string) => q.replace(/\s+/g, ' ').trim().slice(0, 160);

/**
 * Transaction age in every database on the server, not only this one: a transaction open for
 * long anywhere holds back vacuum everywhere (the xmin horizon is server-wide). The sessions
 * check covers this database's idle and long statements; this one adds the other databases'
 * idle-in-transaction sessions and long transactions in any database.
 */
export const transactionsCheck: HealthCheck = {
  name: 'transactions',
  async run(c): Promise<CheckResult> {
    const s = c.settings;
    const { rows } = await c.db.query<TxRow>(
      `SELECT pid, datname::text, usename::text, application_name, state, left(query, 400) AS query,
              extract(epoch FROM now() - xact_start)::float8 AS xact_s, extract(epoch FROM now() - state_change)::float8 AS state_s
         FROM pg_stat_activity
        WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND application_name <> $3 AND xact_start IS NOT NULL
          AND (xact_start < now() - make_interval(secs => $2)
            OR (datname IS DISTINCT FROM current_database() AND state LIKE 'idle in transaction%' AND state_change < now() - make_interval(secs => $1)))
        ORDER BY xact_start LIMIT 50`,
      [s.idleInTransactionWarningSeconds, s.longTransactionWarningSeconds, c.ownApplication],
    );
    const findings: Finding[] = rows.map((r) => {
      const idle = r.state?.startsWith('idle in transaction') ?? false;
      const long = r.xact_s > s.longTransactionWarningSeconds;
      return {
        check: long ? 'transactions.long' : 'transactions.idle-in-transaction',
        severity: 'warning',
        target: who(r),
        message: long
          ? `${who(r)} has had a transaction open for ${formatDuration(r.xact_s)} (${r.state ?? '?'}${idle && r.state_s !== null ? ` for ${formatDuration(r.state_s)}` : ''}): vacuum cannot clean up after it in any database`
          : `${who(r)} has been idle in an open transaction for ${formatDuration(r.state_s ?? 0)}; it holds its locks and keeps vacuum from cleaning up`,
        value: round(long ? r.xact_s : r.state_s ?? 0),
        threshold: long ? s.longTransactionWarningSeconds : s.idleInTransactionWarningSeconds,
        unit: 's',
        remedy: idle ? `SELECT pg_terminate_backend(${r.pid})` : `SELECT pg_cancel_backend(${r.pid}) -- or pg_terminate_backend if it is a stuck batch`,
        details: { lastQuery: oneLine(r.query), database: r.datname },
      };
    });
    const oldest = rows[0];
    if (findings.length === 0) findings.push({ check: 'transactions', severity: 'info', message: `no transaction open longer than ${formatDuration(s.longTransactionWarningSeconds)} in any database` });
    return { findings, metrics: { 'transactions.oldest-seconds': oldest ? round(oldest.xact_s) : null, 'transactions.long': rows.length } };
  },
};
