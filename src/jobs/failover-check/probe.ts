import pRetry from 'p-retry';
import type { ConnectionTarget } from '../../platform/db/connection.js';
import type { WithServer } from '../../platform/db/session.js';
import type { Logger } from '../../platform/log.js';
import { errorMessage } from '../../platform/redact.js';

export interface ProbeOptions {
  target: ConnectionTarget;
  /** The job context's connections to other servers. */
  withServer: WithServer;
  /** Give up after this long (the run reports "not writable yet"; a later run continues). */
  timeoutMs: number;
  maxDelayMs: number;
  connectTimeoutSeconds: number;
  log: Logger;
  signal?: AbortSignal;
  now: () => Date;
}

export interface ProbeResult {
  writable: boolean;
  attempts: number;
  firstAttemptAt: Date;
  /** When a probe first found the primary writable. */
  writableAt: Date | null;
  /** True when at least one attempt failed first: then writableAt bounds the outage closely. */
  sawOutage: boolean;
  lastError: string | null;
  /** Newest commit on the server (track_commit_timestamp = on only), read on the writable session. */
  lastCommitAt: Date | null;
}

class NotWritable extends Error {
  override name = 'NotWritable';
}

/**
 * Connects afresh for every attempt (after a failover the host name points elsewhere and any
 * pooled session belongs to the old primary) until the server is a primary that accepts writes:
 * pg_is_in_recovery() false and transaction_read_only off.
 */
export async function probeWritable(options: ProbeOptions): Promise<ProbeResult> {
  const { target, log, withServer } = options;
  const firstAttemptAt = options.now();
  let attempts = 0;
  let lastError: string | null = null;
  const probe = { purpose: 'probe', timeouts: { lockTimeoutMs: 2000, statementTimeoutMs: 5000, connectTimeoutSeconds: options.connectTimeoutSeconds } };
  // A new pool, so a new session, for every attempt.
  const attempt = async () => {
    attempts += 1;
    return withServer(target, probe, async (pool) => {
      const { rows } = await pool.query<{ in_recovery: boolean; read_only: string; last_commit: Date | null }>(
        `SELECT pg_is_in_recovery() AS in_recovery, current_setting('transaction_read_only') AS read_only,
                CASE WHEN current_setting('track_commit_timestamp') = 'on' THEN (pg_last_committed_xact()).timestamp END AS last_commit`,
      );
      const row = rows[0];
      if (!row || row.in_recovery) throw new NotWritable('the server is in recovery (a standby or replica)');
      if (row.read_only === 'on') throw new NotWritable('the server accepts only read-only transactions');
      return { at: options.now(), lastCommitAt: row.last_commit };
    });
  };
  try {
    const done = await pRetry(attempt, {
      retries: Number.MAX_SAFE_INTEGER,
      factor: 2,
      minTimeout: 500,
      maxTimeout: options.maxDelayMs,
      maxRetryTime: options.timeoutMs,
      randomize: false,
      ...(options.signal ? { signal: options.signal } : {}),
      onFailedAttempt: ({ error, attemptNumber }) => {
        lastError = errorMessage(error);
        log.debug('writable probe failed', { attempt: attemptNumber, error: lastError });
      },
      // Connection errors arrive as TypeError-free Errors; a programming error should not loop.
      shouldRetry: ({ error }) => !(error instanceof TypeError),
    });
    return { writable: true, attempts, firstAttemptAt, writableAt: done.at, sawOutage: attempts > 1, lastError, lastCommitAt: done.lastCommitAt };
  } catch (err) {
    return { writable: false, attempts, firstAttemptAt, writableAt: null, sawOutage: true, lastError: lastError ?? errorMessage(err), lastCommitAt: null };
  }
}
