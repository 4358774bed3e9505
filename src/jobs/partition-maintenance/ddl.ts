import type pg from 'pg';
import pRetry from 'p-retry';
import { isLockTimeout, type Queryable } from '../../platform/db/sql.js';
import { sleep } from '../../shared/async.js';
import type { JobContext } from '../../shared/job.js';
import { errorMessage } from '../../platform/redact.js';

/** A session that holds, or waits on, a lock a DDL statement needs. */
export interface Blocker {
  pid: number;
  user: string | null;
  application: string | null;
  clientAddr: string | null;
  state: string | null;
  /** Seconds since its transaction began. */
  transactionSeconds: number | null;
  mode: string;
  relation: string;
  query: string | null;
}

/** Modes that conflict with SHARE UPDATE EXCLUSIVE (ATTACH, DETACH CONCURRENTLY's first phase). */
export const CONFLICTS_SHARE_UPDATE_EXCLUSIVE = ['ShareUpdateExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'];
/** Every mode: ACCESS EXCLUSIVE waits for all, and DETACH CONCURRENTLY waits for every user of the parent. */
export const ALL_LOCK_MODES = ['AccessShareLock', 'RowShareLock', 'RowExclusiveLock', ...CONFLICTS_SHARE_UPDATE_EXCLUSIVE];

export interface DdlStatement {
  description: string;
  statement: string;
  /** Relations (qualified, quoted names) and the lock modes held on them that block the statement. */
  locks: Array<{ relation: string; modes: readonly string[] }>;
}

export interface DdlPolicy {
  lockTimeoutMs: number;
  retries: number;
  blockerWaitMs: number;
}

export interface DdlResult {
  attempts: number;
  durationMs: number;
  /** Time spent in attempts that ended in lock_timeout plus time waiting for blockers to leave. */
  lockWaitMs: number;
  blockers: Blocker[];
}

export class DdlGaveUp extends Error {
  override name = 'DdlGaveUp';
  constructor(
    message: string,
    readonly result: DdlResult,
  ) {
    super(message);
  }
}

/** The pg_stat_activity columns both blocker queries select. */
interface ActivityRow {
  pid: number;
  usename: string | null;
  application_name: string | null;
  client_addr: string | null;
  state: string | null;
  xact_seconds: string | null;
  query: string | null;
}

function toBlocker(r: ActivityRow, mode: string, relation: string): Blocker {
  return {
    pid: r.pid,
    user: r.usename,
    application: r.application_name,
    clientAddr: r.client_addr,
    state: r.state,
    transactionSeconds: r.xact_seconds === null ? null : Number(r.xact_seconds),
    mode,
    relation,
    query: r.query,
  };
}

/**
 * Sessions holding a conflicting lock on the relations that either sit idle in a transaction or
 * have had their transaction open longer than the lock timeout: they would outlast one attempt.
 * Short transactions of the service (an insert) are not blockers; the retries get past them.
 */
export async function findBlockers(db: Queryable, stmt: DdlStatement, lockTimeoutMs: number): Promise<Blocker[]> {
  const { rows } = await db.query<ActivityRow & { mode: string; relation: string }>(BLOCKERS_SQL, [JSON.stringify(stmt.locks), lockTimeoutMs]);
  return rows.map((r) => toBlocker(r, r.mode, r.relation));
}

const BLOCKERS_SQL = `SELECT DISTINCT ON (a.pid) a.pid, a.usename, a.application_name, a.client_addr::text AS client_addr, a.state,
            round(extract(epoch FROM now() - a.xact_start)::numeric, 1) AS xact_seconds,
            l.mode, l.relation::regclass::text AS relation, left(a.query, 200) AS query
       FROM pg_locks l
       JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'relation'
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND EXISTS (SELECT 1 FROM jsonb_to_recordset($1::jsonb) AS x(relation text, modes text[])
                     WHERE to_regclass(x.relation) = l.relation AND l.mode = ANY (x.modes))
        AND a.pid <> pg_backend_pid()
        AND a.application_name IS DISTINCT FROM current_setting('application_name')
        AND (a.state LIKE 'idle in transaction%' OR a.xact_start < now() - $2 * interval '1 millisecond')
      ORDER BY a.pid, a.xact_start`;

/**
 * The DDL session's first round trip: its pid, its lock_timeout set, and the sessions that would
 * block the statement (findBlockers), in one query instead of three.
 */
async function prepareSession(client: pg.PoolClient, stmt: DdlStatement, lockTimeoutMs: number): Promise<{ pid: number; blockers: Blocker[] }> {
  const { rows } = await client.query<{ me: number } & { [K in keyof ActivityRow]: ActivityRow[K] | null } & { mode: string | null; relation: string | null }>(
    `WITH me AS MATERIALIZED (SELECT pg_backend_pid() AS me, set_config('lock_timeout', $3, false) AS lock_timeout)
     SELECT me.me, b.* FROM me LEFT JOIN LATERAL (${BLOCKERS_SQL}) b ON true`,
    [JSON.stringify(stmt.locks), lockTimeoutMs, String(Math.round(lockTimeoutMs))],
  );
  const blockers: Blocker[] = [];
  for (const r of rows) if (r.pid !== null) blockers.push(toBlocker({ ...r, pid: r.pid }, r.mode ?? '', r.relation ?? ''));
  return { pid: rows[0]!.me, blockers };
}

/** The sessions a waiting backend is queued behind, right now. */
async function blockersOf(db: Queryable, pid: number): Promise<Blocker[]> {
  const { rows } = await db.query<ActivityRow>(
    `SELECT a.pid, a.usename, a.application_name, a.client_addr::text AS client_addr, a.state,
            round(extract(epoch FROM now() - a.xact_start)::numeric, 1) AS xact_seconds, left(a.query, 200) AS query
       FROM pg_stat_activity a WHERE a.pid = ANY (pg_blocking_pids($1))`,
    [pid],
  );
  return rows.map((r) => toBlocker(r, 'blocking', ''));
}

/** An abort ends the wait early; the caller then sees the signal and stops. */
const pause = (ms: number, signal?: AbortSignal) => sleep(ms, signal).catch(() => undefined);

function mergeBlockers(into: Map<number, Blocker>, found: readonly Blocker[]): void {
  for (const b of found) {
    const known = into.get(b.pid);
    into.set(b.pid, known && known.relation ? { ...b, mode: known.mode, relation: known.relation } : b);
  }
}

/**
 * Runs one DDL statement on its own session, as a single statement outside any transaction
 * block (what DETACH ... CONCURRENTLY requires), with a short lock_timeout and retries with
 * back-off. Before the first attempt, waits (up to blockerWaitMs) for sessions that would
 * block it; during each attempt, records who it is queued behind. `attempt` may change the
 * statement between attempts (e.g. DETACH CONCURRENTLY → FINALIZE once a detach is pending).
 */
export async function runDdl(
  ctx: JobContext,
  stmt: DdlStatement,
  policy: DdlPolicy,
  attempt: (client: pg.PoolClient, n: number) => Promise<void> = (client) => client.query(stmt.statement).then(() => undefined),
): Promise<DdlResult> {
  const started = performance.now();
  const blockers = new Map<number, Blocker>();
  let lockWaitMs = 0;
  let attempts = 0;

  const result = (): DdlResult => ({
    attempts,
    durationMs: Math.round(performance.now() - started),
    lockWaitMs: Math.round(lockWaitMs),
    blockers: [...blockers.values()],
  });

  try {
    await ctx.db.withClient(async (client) => {
      const first = await prepareSession(client, stmt, policy.lockTimeoutMs);
      const pid = first.pid;
      try {
        // Sessions that would outlast an attempt: wait (up to blockerWaitMs) for them to leave first.
        const waitStart = performance.now();
        let found = first.blockers;
        for (;;) {
          mergeBlockers(blockers, found);
          if (found.length === 0 || performance.now() - waitStart >= policy.blockerWaitMs || ctx.signal.aborted) break;
          if (attempts === 0 && blockers.size === found.length) {
            ctx.log.warn(`waiting for ${found.length} blocking session(s) before: ${stmt.description}`, { pids: found.map((b) => b.pid) });
          }
          await sleep(Math.min(500, policy.blockerWaitMs), ctx.signal);
          found = await findBlockers(client, stmt, policy.lockTimeoutMs);
        }
        if (blockers.size > 0) lockWaitMs += performance.now() - waitStart;
        await pRetry(
          async (n) => {
            attempts = n;
            const t = performance.now();
            // While the statement waits, note who it waits behind (a fast statement never gets looked at).
            const done = new AbortController();
            const watcher = (async () => {
              await pause(Math.min(200, policy.lockTimeoutMs / 2), done.signal);
              while (!done.signal.aborted) {
                mergeBlockers(blockers, await blockersOf(ctx.db, pid).catch(() => []));
                await pause(250, done.signal);
              }
            })();
            try {
              await attempt(client, n);
            } catch (err) {
              if (isLockTimeout(err)) lockWaitMs += performance.now() - t;
              throw err;
            } finally {
              done.abort();
              await watcher;
            }
          },
          {
            retries: policy.retries,
            minTimeout: 100,
            factor: 2,
            maxTimeout: 5000,
            randomize: true,
            signal: ctx.signal,
            shouldRetry: ({ error }) => isLockTimeout(error),
            onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
              if (isLockTimeout(error)) {
                ctx.log.info(`lock timeout (attempt ${attemptNumber}, ${retriesLeft} left): ${stmt.description}`);
              }
            },
          },
        );
      } finally {
        // The session goes back to the job's pool: give it the pool's lock_timeout again, unless
        // it already has it (the two settings are equal by default: a round trip saved per DDL).
        if (policy.lockTimeoutMs !== ctx.settings.lockTimeoutMs) await client.query('RESET lock_timeout').catch(() => undefined);
      }
    });
  } catch (err) {
    const r = result();
    const who = r.blockers.length
      ? `; blocked by ${r.blockers.map((b) => `pid ${b.pid} (${b.application || b.user || 'unknown'}, ${b.state ?? 'unknown state'}${b.transactionSeconds !== null ? `, transaction open ${b.transactionSeconds}s` : ''})`).join(', ')}`
      : '';
    throw new DdlGaveUp(
      isLockTimeout(err)
        ? `gave up after ${r.attempts} attempt(s) of ${policy.lockTimeoutMs} ms lock_timeout${who}`
        : `${errorMessage(err)}${who}`,
      r,
    );
  }
  return result();
}
