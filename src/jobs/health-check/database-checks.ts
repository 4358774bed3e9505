import { qualified } from '../../platform/db/sql.js';
import type { Finding } from '../../shared/job.js';
import { formatBytes, formatDuration, round, toNumber, whenAbove, whenBelow, type CheckContext, type CheckResult, type HealthCheck } from './check.js';
import { counterDelta, secondsBetween, type Counters, type StoredSnapshot } from './snapshot.js';

/** Too few block reads and hits in the interval say nothing about the cache. */
const MIN_BLOCK_ACCESSES = 1000;

export const connectionsCheck: HealthCheck = {
  name: 'connections',
  async run(c): Promise<CheckResult> {
    const { rows } = await c.db.query<{ max_connections: number; reserved: number; total: string; by_state: Record<string, number> | null; roles: Array<{ role: string; limit: number; n: number }> }>(
      `WITH a AS (SELECT usesysid, state FROM pg_stat_activity WHERE backend_type = 'client backend')
       SELECT current_setting('max_connections')::int AS max_connections,
              current_setting('superuser_reserved_connections')::int AS reserved,
              (SELECT count(*) FROM a) AS total,
              (SELECT json_object_agg(coalesce(state, 'unknown'), n) FROM (SELECT state, count(*) AS n FROM a GROUP BY state) s) AS by_state,
              (SELECT coalesce(json_agg(r ORDER BY r.role), '[]') FROM (
                 SELECT rolname AS role, rolconnlimit AS "limit", count(*)::int AS n
                   FROM a JOIN pg_roles ON pg_roles.oid = a.usesysid
                  WHERE rolconnlimit >= 0 GROUP BY rolname, rolconnlimit) r) AS roles`,
    );
    const r = rows[0]!;
    const total = Number(r.total);
    const usable = r.max_connections - r.reserved;
    const s = c.settings;
    const findings: Finding[] = [];
    const usedPercent = (100 * total) / Math.max(1, usable);
    const severity =
      total > s.connectionsCritical || total >= usable ? 'critical' : usedPercent > s.connectionLimitWarningPercent ? 'warning' : 'info';
    findings.push({
      check: 'connections.total',
      severity,
      message:
        severity === 'info'
          ? `${total} client connections of ${usable} usable`
          : total >= usable
            ? `${total} client connections: max_connections is reached, new ones are refused`
            : `${total} client connections of ${usable} usable (critical above ${s.connectionsCritical})`,
      value: total,
      threshold: s.connectionsCritical,
      details: { maxConnections: r.max_connections, superuserReserved: r.reserved, byState: r.by_state ?? {} },
    });
    for (const role of r.roles) {
      const pct = role.limit === 0 ? 100 : (100 * role.n) / role.limit;
      const sev = role.n >= role.limit ? 'critical' : pct > s.connectionLimitWarningPercent ? 'warning' : 'info';
      if (sev === 'info') continue;
      findings.push({
        check: 'connections.role-limit',
        severity: sev,
        target: role.role,
        message:
          sev === 'critical'
            ? `role ${role.role} has ${role.n} connections, its CONNECTION LIMIT ${role.limit}: its new connections are refused`
            : `role ${role.role} uses ${role.n} of its ${role.limit} connections`,
        value: role.n,
        threshold: role.limit,
        remedy: 'look for a connection-pool leak in the application using this role, or raise the limit (ALTER ROLE … CONNECTION LIMIT) and max_connections together',
      });
    }
    return { findings, metrics: { 'connections.total': total, 'connections.usable': usable, 'connections.percent': round(usedPercent) } };
  },
};

interface SessionRow {
  pid: number;
  usename: string | null;
  application_name: string;
  client_addr: string | null;
  state: string | null;
  wait_event_type: string | null;
  wait_event: string | null;
  query: string;
  xact_s: number | null;
  query_s: number | null;
  state_s: number | null;
  blocked_by: Array<{ pid: number; usename: string | null; application_name: string; state: string | null; query: string; xact_s: number | null }> | null;
}

const who = (s: { pid: number; usename: string | null; application_name: string }) =>
  `pid ${s.pid} (${s.usename ?? '?'}${s.application_name ? `, ${s.application_name}` : ''})`;
const oneLine = (q: string) => q.replace(/\s+/g, ' ').trim().slice(0, 160);

/** Idle-in-transaction sessions, long statements and lock waits, from one read of pg_stat_activity. */
export const sessionsCheck: HealthCheck = {
  name: 'sessions',
  async run(c): Promise<CheckResult> {
    const s = c.settings;
    const { rows } = await c.db.query<SessionRow>(
      `WITH s AS (
         SELECT pid, usename::text, application_name, client_addr::text, state, wait_event_type, wait_event, left(query, 400) AS query,
                extract(epoch FROM now() - xact_start)::float8 AS xact_s,
                extract(epoch FROM now() - query_start)::float8 AS query_s,
                extract(epoch FROM now() - state_change)::float8 AS state_s
           FROM pg_stat_activity
          WHERE datname = current_database() AND backend_type = 'client backend'
            AND pid <> pg_backend_pid() AND application_name <> $4
            AND ((state LIKE 'idle in transaction%' AND state_change < now() - make_interval(secs => $1))
              OR (state = 'active' AND wait_event_type IS DISTINCT FROM 'Lock' AND query_start < now() - make_interval(secs => $2))
              OR (wait_event_type = 'Lock' AND query_start < now() - make_interval(secs => $3))))
       SELECT s.*,
              CASE WHEN s.wait_event_type = 'Lock' THEN (
                SELECT json_agg(json_build_object('pid', b.pid, 'usename', b.usename, 'application_name', b.application_name, 'state', b.state,
                                                  'query', left(b.query, 400), 'xact_s', extract(epoch FROM now() - b.xact_start)) ORDER BY b.pid)
                  FROM pg_stat_activity b WHERE b.pid = ANY (pg_blocking_pids(s.pid))) END AS blocked_by
         FROM s ORDER BY s.pid`,
      [s.idleInTransactionWarningSeconds, s.longQueryWarningSeconds, s.lockWaitWarningSeconds, c.ownApplication],
    );
    const findings: Finding[] = [];
    let idle = 0;
    let long = 0;
    let waiting = 0;
    for (const r of rows) {
      if (r.state?.startsWith('idle in transaction')) {
        idle++;
        findings.push({
          check: 'sessions.idle-in-transaction',
          severity: 'warning',
          target: who(r),
          message: `${who(r)} has been idle in an open transaction for ${formatDuration(r.state_s ?? 0)}; it holds its locks and keeps vacuum from cleaning up`,
          value: round(r.state_s ?? 0),
          threshold: s.idleInTransactionWarningSeconds,
          unit: 's',
          remedy: `SELECT pg_terminate_backend(${r.pid})`,
          details: { lastQuery: oneLine(r.query), transactionSeconds: round(r.xact_s ?? 0), client: r.client_addr },
        });
      } else if (r.wait_event_type === 'Lock') {
        waiting++;
        const blockers = r.blocked_by ?? [];
        const named = blockers.map((b) => `${who(b)} ${b.state ?? ''}${b.query ? `: ${oneLine(b.query)}` : ''}`.trim());
        findings.push({
          check: 'sessions.lock-wait',
          severity: 'warning',
          target: who(r),
          message: `${who(r)} has waited ${formatDuration(r.query_s ?? 0)} for a ${r.wait_event ?? ''} lock, blocked by ${named.length ? named.join('; ') : 'a session that has since gone'}`,
          value: round(r.query_s ?? 0),
          threshold: s.lockWaitWarningSeconds,
          unit: 's',
          remedy: blockers.length ? `if the blocker is stuck: SELECT pg_terminate_backend(${blockers[0]!.pid})` : undefined,
          details: { waitingQuery: oneLine(r.query), blockers: blockers.map((b) => ({ pid: b.pid, user: b.usename, application: b.application_name, state: b.state, query: oneLine(b.query), transactionSeconds: round(Number(b.xact_s ?? 0)) })) },
        });
      } else {
        long++;
        findings.push({
          check: 'sessions.long-query',
          severity: 'warning',
          target: who(r),
          message: `${who(r)} has run one statement for ${formatDuration(r.query_s ?? 0)}: ${oneLine(r.query)}`,
          value: round(r.query_s ?? 0),
          threshold: s.longQueryWarningSeconds,
          unit: 's',
          remedy: `SELECT pg_cancel_backend(${r.pid})`,
        });
      }
    }
    if (rows.length === 0) {
      findings.push({ check: 'sessions', severity: 'info', message: 'no session idle in a transaction, running long or waiting on a lock beyond the thresholds' });
    }
    return { findings, metrics: { 'sessions.idle-in-transaction': idle, 'sessions.long-query': long, 'sessions.lock-wait': waiting } };
  },
};

/**
 * Counters of pg_stat_database and pg_stat_statements; the deadlock, cache-hit, TPS,
 * statement-time and size checks are differences against earlier snapshots.
 */
export const databaseStatsCheck: HealthCheck = {
  name: 'database-stats',
  async run(c): Promise<CheckResult> {
    const { rows } = await c.db.query<{
      stats_reset: Date | null; xacts: string; rollbacks: string; deadlocks: string; blks_hit: string; blks_read: string; temp_files: string; temp_bytes: string; bytes: string;
      pgss: boolean; toplevel: boolean; info: boolean;
    }>(
      `SELECT stats_reset, xact_commit + xact_rollback AS xacts, xact_rollback AS rollbacks, deadlocks, blks_hit, blks_read, temp_files, temp_bytes,
              pg_database_size(datid) AS bytes, to_regclass('pg_stat_statements') IS NOT NULL AS pgss,
              EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('pg_stat_statements') AND attname = 'toplevel' AND NOT attisdropped) AS toplevel,
              to_regclass('pg_stat_statements_info') IS NOT NULL AS info
         FROM pg_stat_database WHERE datname = current_database()`,
    );
    const r = rows[0]!;
    const counters: Partial<Counters> = {
      statsReset: r.stats_reset ? r.stats_reset.toISOString() : null,
      transactions: Number(r.xacts),
      rollbacks: Number(r.rollbacks),
      deadlocks: Number(r.deadlocks),
      blocksHit: Number(r.blks_hit),
      blocksRead: Number(r.blks_read),
      tempFiles: Number(r.temp_files),
      tempBytes: Number(r.temp_bytes),
      databaseBytes: Number(r.bytes),
      statementCalls: null,
      statementMs: null,
      statementsReset: null,
      statementsDealloc: null,
    };
    const findings: Finding[] = [];
    if (r.pgss) {
      try {
        // Top-level statements only (pg_stat_statements.track = all also counts each statement
        // inside a function, whose time is already in the caller's); dealloc counts entries
        // evicted at pg_stat_statements.max, which make the sums drop or jump.
        const q = await c.db.query<{ calls: string | null; ms: number | null; reset: Date | null; dealloc: string | null }>(
          `SELECT sum(calls) AS calls, sum(total_exec_time)::float8 AS ms,
                  ${r.info ? '(SELECT stats_reset FROM pg_stat_statements_info)' : 'NULL::timestamptz'} AS reset,
                  ${r.info ? '(SELECT dealloc FROM pg_stat_statements_info)' : 'NULL::bigint'} AS dealloc
             FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())${r.toplevel ? ' AND toplevel' : ''}`,
        );
        counters.statementCalls = toNumber(q.rows[0]?.calls) ?? 0;
        counters.statementMs = q.rows[0]?.ms ?? 0;
        counters.statementsReset = q.rows[0]?.reset ? q.rows[0].reset.toISOString() : null;
        counters.statementsDealloc = toNumber(q.rows[0]?.dealloc);
      } catch (err) {
        findings.push({ check: 'avg-query-time', severity: 'info', message: `pg_stat_statements cannot be read: ${(err as Error).message}` });
      }
    }
    return { findings, counters };
  },
};

/** Whether pg_stat_statements deallocated entries between the base snapshot and now. */
function evicted(cur: Partial<Counters>, base: StoredSnapshot | undefined): boolean {
  const a = cur.statementsDealloc;
  const b = base?.counters.statementsDealloc;
  return a !== null && a !== undefined && b !== null && b !== undefined && a > b;
}

/** Derives the rate checks from the counters gathered above and the stored snapshots. */
export function rateFindings(c: CheckContext, cur: Partial<Counters>): CheckResult {
  const s = c.settings;
  const h = c.history;
  const findings: Finding[] = [];
  const metrics: Record<string, number | null> = {};

  // Deadlocks since the previous run, and over the last hour.
  const since = counterDelta(cur, h.latest, 'deadlocks');
  metrics['deadlocks.since-previous'] = since;
  const inHour = counterDelta(cur, h.hourAgo, 'deadlocks');
  const hours = h.hourAgo ? Math.max(1, secondsBetween(c.now, h.hourAgo.takenAt) / 3600) : null;
  const perHour = inHour !== null && hours !== null ? inHour / hours : null;
  metrics['deadlocks.per-hour'] = perHour === null ? null : round(perHour, 2);
  if (since === null || perHour === null) {
    findings.push({ check: 'deadlocks', severity: 'info', message: 'deadlocks: no earlier snapshot to compare with yet (or statistics were reset); measured from the next run' });
  } else {
    const sev = whenAbove(perHour, s.deadlocksPerHourWarning, null);
    findings.push({
      check: 'deadlocks',
      severity: sev,
      message: `${since} deadlock${since === 1 ? '' : 's'} since the previous check; ${round(perHour, 1)} an hour over the last ${formatDuration((hours ?? 1) * 3600)}`,
      value: round(perHour, 2),
      threshold: s.deadlocksPerHourWarning,
      unit: '/h',
      ...(sev !== 'info' ? { remedy: 'the server log names the statements of each deadlock (search "deadlock detected"); make the application take row locks in one order' } : {}),
    });
  }

  // Rates over at least a minute, so two runs in quick succession do not divide by nearly zero.
  const base = h.minuteAgo;
  const seconds = base ? secondsBetween(c.now, base.takenAt) : null;
  const xacts = counterDelta(cur, base, 'transactions');
  if (xacts === null || !seconds) {
    findings.push({ check: 'tps', severity: 'info', message: 'transactions per second: no snapshot a minute or more old to compare with yet' });
    metrics['tps.value'] = null;
  } else {
    const tps = xacts / seconds;
    metrics['tps.value'] = round(tps, 2);
    const sev = s.tpsWarningBelow > 0 ? whenBelow(tps, s.tpsWarningBelow, null) : 'info';
    findings.push({
      check: 'tps',
      severity: sev,
      message: `${round(tps, 1)} transactions per second over the last ${formatDuration(seconds)}${sev === 'info' ? '' : ' (alert below ' + s.tpsWarningBelow + '; check the application is receiving traffic)'}`,
      value: round(tps, 2),
      threshold: s.tpsWarningBelow,
      unit: 'tps',
    });
  }

  // Cache hit over the interval when there is one, else since the statistics began.
  const hit = base ? counterDelta(cur, base, 'blocksHit') : cur.blocksHit ?? null;
  const read = base ? counterDelta(cur, base, 'blocksRead') : cur.blocksRead ?? null;
  if (hit === null || read === null || hit + read < MIN_BLOCK_ACCESSES) {
    metrics['cache-hit.percent'] = null;
    findings.push({ check: 'cache-hit', severity: 'info', message: `cache hit ratio: too few block accesses (${(hit ?? 0) + (read ?? 0)}) to judge` });
  } else {
    const pct = (100 * hit) / (hit + read);
    metrics['cache-hit.percent'] = round(pct, 2);
    const sev = whenBelow(pct, s.cacheHitWarningPercent, null);
    findings.push({
      check: 'cache-hit',
      severity: sev,
      message: `buffer cache hit ratio ${round(pct, 2)} % ${base ? `over the last ${formatDuration(seconds ?? 0)}` : 'since statistics began'} (target above 95 %)`,
      value: round(pct, 2),
      threshold: s.cacheHitWarningPercent,
      unit: '%',
      ...(sev !== 'info' ? { remedy: 'look for sequential scans of large tables (the monthly slow-query report) before raising shared_buffers' } : {}),
    });
  }

  // Average statement time from pg_stat_statements.
  const calls = counterDelta(cur, base, 'statementCalls');
  const ms = counterDelta(cur, base, 'statementMs');
  if (cur.statementCalls === null || cur.statementCalls === undefined) {
    metrics['avg-query-time.ms'] = null;
    findings.push({ check: 'avg-query-time', severity: 'info', message: 'average statement time: pg_stat_statements is not available in this database' });
  } else if (calls === null || ms === null || calls === 0) {
    metrics['avg-query-time.ms'] = null;
    findings.push({ check: 'avg-query-time', severity: 'info', message: 'average statement time: no statements to compare with a snapshot a minute or more old yet' });
  } else if (evicted(cur, base)) {
    metrics['avg-query-time.ms'] = null;
    findings.push({
      check: 'avg-query-time',
      severity: 'info',
      message: `average statement time: pg_stat_statements evicted ${(cur.statementsDealloc ?? 0) - (base?.counters.statementsDealloc ?? 0)} times since the snapshot compared with (pg_stat_statements_info.dealloc), so its sums do not cover the interval`,
      remedy: 'raise pg_stat_statements.max (server parameter; needs a restart) so entries are not evicted between checks',
    });
  } else {
    const avg = ms / calls;
    metrics['avg-query-time.ms'] = round(avg, 2);
    const sev = whenAbove(avg, null, s.avgQueryMsCritical);
    findings.push({
      check: 'avg-query-time',
      severity: sev,
      message: `average statement time ${round(avg, 1)} ms over ${calls} statements (target under 100 ms)`,
      value: round(avg, 2),
      threshold: s.avgQueryMsCritical,
      unit: 'ms',
      ...(sev !== 'info' ? { remedy: 'SELECT query, calls, mean_exec_time FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 10' } : {}),
    });
  }

  // Size and growth per day.
  const bytes = cur.databaseBytes ?? null;
  metrics['database-size.bytes'] = bytes;
  if (bytes !== null) {
    const day = h.dayAgo;
    const prev = day?.counters.databaseBytes;
    const days = day ? secondsBetween(c.now, day.takenAt) / 86_400 : 0;
    const perDay = prev !== undefined && days > 0 ? (bytes - prev) / days : null;
    metrics['database-size.growth-per-day'] = perDay === null ? null : Math.round(perDay);
    findings.push({
      check: 'database-size',
      severity: 'info',
      message: `database size ${formatBytes(bytes)}${perDay === null ? '' : `, ${perDay >= 0 ? '+' : '−'}${formatBytes(Math.abs(perDay))} a day over the last ${formatDuration(days * 86_400)}`}`,
      value: bytes,
      unit: 'bytes',
    });
  }
  return { findings, metrics };
}

export const invalidIndexesCheck: HealthCheck = {
  name: 'invalid-indexes',
  async run(c): Promise<CheckResult> {
    // An index is invalid while CREATE INDEX CONCURRENTLY builds it: those are left out.
    const { rows } = await c.db.query<{ schema: string; index: string; table: string }>(
      `SELECT n.nspname AS schema, ic.relname AS index, tc.relname AS table
         FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class tc ON tc.oid = i.indrelid
         JOIN pg_namespace n ON n.oid = ic.relnamespace
        WHERE NOT i.indisvalid AND i.indexrelid NOT IN (SELECT index_relid FROM pg_stat_progress_create_index)
        ORDER BY 1, 2`,
    );
    const findings: Finding[] = rows.map((r) => ({
      check: 'invalid-indexes',
      severity: 'warning',
      target: `${r.schema}.${r.index}`,
      message: `index ${r.schema}.${r.index} on ${r.table} is invalid (a failed CREATE INDEX CONCURRENTLY?): it is maintained on every write but never used`,
      remedy: `REINDEX INDEX CONCURRENTLY ${qualified(r.schema, r.index)}`,
    }));
    if (findings.length === 0) findings.push({ check: 'invalid-indexes', severity: 'info', message: 'no invalid index' });
    return { findings, metrics: { 'invalid-indexes.count': rows.length } };
  },
};

/** Forgotten prepared transactions hold locks and stop freezing, like idle transactions but survive restarts. */
export const preparedTransactionsCheck: HealthCheck = {
  name: 'prepared-transactions',
  async run(c): Promise<CheckResult> {
    const { rows } = await c.db.query<{ gid: string; owner: string; age_s: number }>(
      `SELECT gid, owner::text, extract(epoch FROM now() - prepared)::float8 AS age_s FROM pg_prepared_xacts
        WHERE database = current_database() AND prepared < now() - make_interval(secs => $1) ORDER BY prepared`,
      [c.settings.idleInTransactionWarningSeconds],
    );
    return {
      findings: rows.map((r) => ({
        check: 'prepared-transactions',
        severity: 'warning',
        target: r.gid,
        message: `prepared transaction ${r.gid} (owner ${r.owner}) has been open for ${formatDuration(r.age_s)}; it holds its locks and blocks freezing`,
        value: round(r.age_s),
        threshold: c.settings.idleInTransactionWarningSeconds,
        unit: 's',
        remedy: `ROLLBACK PREPARED '${r.gid.replace(/'/g, "''")}' (or COMMIT PREPARED, if its coordinator committed it)`,
      })),
      metrics: { 'prepared-transactions.count': rows.length },
    };
  },
};

export const circuitBreakerCheck: HealthCheck = {
  name: 'circuit-breaker',
  async run(c): Promise<CheckResult> {
    const { rows } = await c.db.query<{ service_name: string; state: string; open_s: number; failure_count: number }>(
      `SELECT service_name, state, extract(epoch FROM $1::timestamptz - state_changed_at)::float8 AS open_s, failure_count
         FROM ${qualified(c.schema, 'pc_circuit_breaker_state')} WHERE state <> 'CLOSED' ORDER BY service_name`,
      [c.now],
    );
    const limit = c.settings.circuitOpenWarningSeconds;
    const findings: Finding[] = rows.map((r) => {
      const stuck = r.state === 'OPEN' && r.open_s > limit;
      return {
        check: 'circuit-breaker',
        severity: stuck ? 'warning' : 'info',
        target: r.service_name,
        message: `circuit breaker ${r.service_name} is ${r.state} for ${formatDuration(Math.max(0, r.open_s))} after ${r.failure_count} failures${stuck ? ': calls to the service are refused' : ''}`,
        value: round(Math.max(0, r.open_s)),
        threshold: limit,
        unit: 's',
      };
    });
    if (findings.length === 0) findings.push({ check: 'circuit-breaker', severity: 'info', message: 'every circuit breaker is CLOSED' });
    return { findings, metrics: { 'circuit-breaker.open': rows.filter((r) => r.state === 'OPEN').length } };
  },
};
