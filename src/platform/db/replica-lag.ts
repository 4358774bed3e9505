import { setTimeout } from 'node:timers/promises';
import type { Queryable } from './sql.js';

/**
 * The one place replica lag is measured (health-check and failover-check both use it).
 *
 * Lag read only from replay timestamps is wrong both ways: with the WAL receiver disconnected the
 * received and replayed positions freeze and stay equal (looks current), and on an idle primary
 * the time since the last replayed transaction grows forever (looks ever further behind). So the
 * replica's WAL receiver is read too (is it streaming, when did it last hear from the primary)
 * and, when the caller can reach the primary, the primary's current WAL position: a standby that
 * is not streaming while the primary has written WAL it has not received is falling behind.
 */
export interface ReplicaState {
  /** False when the server is a primary (promoted, or the wrong server configured). */
  inRecovery: boolean;
  /** pg_stat_wal_receiver.status; null when no WAL receiver runs (streaming stopped). */
  receiverStatus: string | null;
  /** Seconds since the WAL receiver last heard from the primary (data or keepalive). */
  lastMessageAgeSeconds: number | null;
  receivedLsn: string | null;
  replayedLsn: string | null;
  /** Received but not yet replayed, in bytes. */
  replayBacklogBytes: number | null;
  /** Seconds since the last replayed transaction committed on the primary. */
  lastReplayAgeSeconds: number | null;
  hotStandbyFeedback: boolean | null;
}

export type ReplicaCondition = 'primary' | 'current' | 'replaying' | 'stopped' | 'silent';

export interface ReplicaLag {
  inRecovery: boolean;
  condition: ReplicaCondition;
  /** Estimated seconds behind; null when unknown (nothing replayed yet, or not in recovery). */
  lagSeconds: number | null;
  /** WAL the primary has written that the replica has not replayed; null when the primary was not read. */
  bytesBehind: number | null;
  /** One sentence: what the state means. */
  explanation: string;
  state: ReplicaState;
}

export interface ReplicaLagOptions {
  /** pg_current_wal_lsn() of the primary, read just before; makes "stopped while the primary writes" visible. */
  primaryLsn?: string | null;
  /** Seconds without any message from the primary after which a streaming receiver counts as silent (the primary sends keepalives every wal_sender_timeout / 2). */
  silentAfterSeconds: number;
}

const stateSql = `SELECT pg_is_in_recovery() AS in_recovery,
       r.status AS receiver_status,
       extract(epoch FROM now() - r.last_msg_receipt_time)::float8 AS last_msg_age_s,
       pg_last_wal_receive_lsn()::text AS received,
       pg_last_wal_replay_lsn()::text AS replayed,
       pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::float8 AS backlog,
       extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS replay_age_s,
       current_setting('hot_standby_feedback')::bool AS hsf
  FROM (SELECT 1) one LEFT JOIN pg_stat_wal_receiver r ON true`;

/** Reads the replica's own view of its replication (run on the replica). */
export async function readReplicaState(replica: Queryable): Promise<ReplicaState> {
  const { rows } = await replica.query<{
    in_recovery: boolean; receiver_status: string | null; last_msg_age_s: number | null; received: string | null; replayed: string | null;
    backlog: number | null; replay_age_s: number | null; hsf: boolean | null;
  }>(stateSql);
  const r = rows[0];
  return {
    inRecovery: r?.in_recovery ?? false,
    receiverStatus: r?.receiver_status ?? null,
    lastMessageAgeSeconds: r?.last_msg_age_s ?? null,
    receivedLsn: r?.received ?? null,
    replayedLsn: r?.replayed ?? null,
    replayBacklogBytes: r?.backlog ?? null,
    lastReplayAgeSeconds: r?.replay_age_s ?? null,
    hotStandbyFeedback: r?.hsf ?? null,
  };
}

/** The primary's current WAL position, or null when the server is itself in recovery. */
export async function readPrimaryLsn(primary: Queryable): Promise<string | null> {
  const { rows } = await primary.query<{ lsn: string | null }>(`SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS lsn`);
  return rows[0]?.lsn ?? null;
}

/** "16/B374D848" as a number of bytes (exact up to 2^53, some 9 PB of WAL). */
export function lsnBytes(lsn: string): number {
  const [hi, lo] = lsn.split('/');
  return parseInt(hi ?? '0', 16) * 2 ** 32 + parseInt(lo ?? '0', 16);
}

/** Interprets a replica's state (and the primary's position, when known) as a lag. */
export function judgeReplicaLag(state: ReplicaState, options: ReplicaLagOptions): ReplicaLag {
  const primaryLsn = options.primaryLsn ?? null;
  const replayed = state.replayedLsn ?? state.receivedLsn;
  const bytesBehind = primaryLsn && replayed ? Math.max(0, lsnBytes(primaryLsn) - lsnBytes(replayed)) : null;
  const base = { inRecovery: state.inRecovery, bytesBehind, state };
  if (!state.inRecovery) return { ...base, condition: 'primary', lagSeconds: null, explanation: 'the server is not in recovery: it is a primary' };

  const streaming = state.receiverStatus === 'streaming';
  if (!streaming) {
    const receiver = state.receiverStatus ? `its WAL receiver is ${state.receiverStatus}` : 'no WAL receiver is running';
    if (bytesBehind === 0) {
      return { ...base, condition: 'stopped', lagSeconds: 0, explanation: `streaming has stopped (${receiver}); the primary has written nothing since, so nothing is missing yet` };
    }
    const heard = state.lastMessageAgeSeconds;
    return {
      ...base,
      condition: 'stopped',
      // Time since the last replayed transaction is the best bound left; a receiver that stopped
      // after hearing from the primary at least says that much time has passed.
      lagSeconds: maxOrNull(state.lastReplayAgeSeconds, heard),
      explanation: `streaming has stopped (${receiver})${bytesBehind !== null ? ' while the primary keeps writing' : ''}: the replica receives nothing and falls further behind`,
    };
  }
  const silentFor = state.lastMessageAgeSeconds;
  if (silentFor !== null && silentFor > options.silentAfterSeconds) {
    return { ...base, condition: 'silent', lagSeconds: maxOrNull(silentFor, bytesBehind === 0 ? 0 : state.lastReplayAgeSeconds), explanation: `the WAL receiver is connected but has heard nothing from the primary for ${Math.round(silentFor)} s` };
  }
  const caughtUp = bytesBehind !== null ? bytesBehind === 0 || state.replayBacklogBytes === 0 : state.replayBacklogBytes === 0;
  if (caughtUp) {
    // Streaming, hearing from the primary and everything received is replayed: an idle primary
    // is not lag, however long ago its last transaction was.
    return { ...base, condition: 'current', lagSeconds: 0, explanation: 'streaming, and everything received is replayed' };
  }
  return { ...base, condition: 'replaying', lagSeconds: state.lastReplayAgeSeconds, explanation: 'streaming, with received WAL waiting to be replayed' };
}

function maxOrNull(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}

/** How long a replica that is replaying gets before it is read a second time. */
const REPLAY_SETTLE_MS = 250;

/**
 * Reads the replica (and the primary, when given) and judges the lag. A replica caught replaying
 * is read once more a moment later: WAL that was merely in flight (on a quiet primary, often the
 * calling job's own run record) would otherwise count as lag since the transaction before it,
 * however long ago that was. What the second read shows is the answer.
 */
export async function measureReplicaLag(
  replica: Queryable,
  options: { primary?: Queryable | null; silentAfterSeconds: number; settleMs?: number },
): Promise<ReplicaLag> {
  const primaryLsn = options.primary ? await readPrimaryLsn(options.primary) : null;
  const judge = (state: ReplicaState) => judgeReplicaLag(state, { primaryLsn, silentAfterSeconds: options.silentAfterSeconds });
  const first = judge(await readReplicaState(replica));
  if (first.condition !== 'replaying') return first;
  await setTimeout(options.settleMs ?? REPLAY_SETTLE_MS);
  return judge(await readReplicaState(replica));
}
