import type { Finding, JobDatabase } from '../shared/job.js';
import { redactValue } from '../platform/redact.js';
import type { AlertKind } from './messages.js';
import type { AlertSeverity } from './routing.js';

/**
 * ops.alert_state holds one open row per finding (job + check + target). Every decision that
 * two instances could race on is a single statement on that row: the upsert (the partial
 * unique index), the claim (an UPDATE whose WHERE re-checks after a concurrent commit) and the
 * resolve (an UPDATE that only one caller gets rows back from).
 */
type Query = JobDatabase['query'];

export interface OpenAlert {
  id: number;
  firstSeenAt: Date;
  lastSentAt: Date | null;
  sentSeverity: AlertSeverity | null;
}

export async function upsertOpenAlert(
  query: Query,
  a: { job: string; check: string; target: string; severity: AlertSeverity; finding: Finding; now: Date; runId: number | null },
): Promise<OpenAlert> {
  const { rows } = await query<{ id: string; first_seen_at: Date; last_sent_at: Date | null; sent_severity: AlertSeverity | null }>(
    `INSERT INTO ops.alert_state (job, check_name, target, severity, finding, first_seen_at, last_seen_at, last_run_id)
     VALUES ($1, $2, $3, $4, $5, $6, $6, $7)
     ON CONFLICT (job, check_name, target) WHERE resolved_at IS NULL
     DO UPDATE SET severity = EXCLUDED.severity, finding = EXCLUDED.finding,
                   last_seen_at = EXCLUDED.last_seen_at, last_run_id = EXCLUDED.last_run_id
     RETURNING id, first_seen_at, last_sent_at, sent_severity`,
    [a.job, a.check, a.target, a.severity, redactValue(a.finding), a.now, a.runId],
  );
  const row = rows[0]!;
  return { id: Number(row.id), firstSeenAt: row.first_seen_at, lastSentAt: row.last_sent_at, sentSeverity: row.sent_severity };
}

/**
 * Takes the right to send for this alert now: never sent, due for re-notification, or worse
 * than what was sent. Exactly one of several concurrent callers gets true.
 */
export async function claimSend(query: Query, id: number, now: Date, renotifyMinutes: number): Promise<boolean> {
  const { rowCount } = await query(
    `UPDATE ops.alert_state
        SET last_sent_at = $2, sent_severity = severity, notify_count = notify_count + 1
      WHERE id = $1 AND resolved_at IS NULL
        AND (last_sent_at IS NULL
             OR ($3::int > 0 AND last_sent_at <= $2::timestamptz - make_interval(mins => $3::int))
             OR (severity = 'critical' AND sent_severity = 'warning'))`,
    [id, now, renotifyMinutes],
  );
  return rowCount === 1;
}

/** Gives a claim back when no channel took the alert, so the next run tries again. */
export async function releaseClaim(query: Query, id: number, claimedAt: Date, before: OpenAlert): Promise<void> {
  await query(
    `UPDATE ops.alert_state SET last_sent_at = $3, sent_severity = $4, notify_count = notify_count - 1
      WHERE id = $1 AND last_sent_at = $2`,
    [id, claimedAt, before.lastSentAt, before.sentSeverity],
  );
}

export function kindOf(before: OpenAlert, severity: AlertSeverity): AlertKind {
  if (before.lastSentAt === null) return 'alert';
  return severity === 'critical' && before.sentSeverity === 'warning' ? 'escalation' : 'renotify';
}

export interface ResolvedAlert {
  id: number;
  check: string;
  target: string;
  severity: AlertSeverity;
  finding: Finding;
  firstSeenAt: Date;
  /** NULL when nothing was ever sent about it: then no recovery message is due either. */
  lastSentAt: Date | null;
}

/** Closes the job's open alerts whose finding is no longer reported. */
export async function resolveAbsent(query: Query, job: string, present: ReadonlyArray<{ check: string; target: string }>, now: Date): Promise<ResolvedAlert[]> {
  const { rows } = await query<{ id: string; check_name: string; target: string; severity: AlertSeverity; finding: Finding; first_seen_at: Date; last_sent_at: Date | null }>(
    `UPDATE ops.alert_state SET resolved_at = $2
      WHERE job = $1 AND resolved_at IS NULL
        AND (check_name, target) NOT IN (SELECT * FROM unnest($3::text[], $4::text[]))
      RETURNING id, check_name, target, severity, finding, first_seen_at, last_sent_at`,
    [job, now, present.map((p) => p.check), present.map((p) => p.target)],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    check: r.check_name,
    target: r.target,
    severity: r.severity,
    finding: r.finding,
    firstSeenAt: r.first_seen_at,
    lastSentAt: r.last_sent_at,
  }));
}

export interface DeliveryRecord {
  alertId: number;
  job: string;
  check: string;
  target: string;
  kind: AlertKind;
  channel: string;
  status: 'sent' | 'failed';
  attempts: number;
  error?: string;
  durationMs: number;
  runId: number | null;
  at: Date;
}

export async function recordDeliveries(query: Query, records: readonly DeliveryRecord[]): Promise<void> {
  if (records.length === 0) return;
  await query(
    `INSERT INTO ops.alert_delivery (alert_id, job, check_name, target, kind, channel, status, attempts, error, duration_ms, run_id, sent_at)
     SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::text[], $10::int[], $11::bigint[], $12::timestamptz[])`,
    [
      records.map((r) => r.alertId),
      records.map((r) => r.job),
      records.map((r) => r.check),
      records.map((r) => r.target),
      records.map((r) => r.kind),
      records.map((r) => r.channel),
      records.map((r) => r.status),
      records.map((r) => r.attempts),
      records.map((r) => r.error ?? null),
      records.map((r) => r.durationMs),
      records.map((r) => r.runId),
      records.map((r) => r.at),
    ],
  );
}
