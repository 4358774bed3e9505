import type { Queryable } from '../platform/db/sql.js';
import { redactValue } from '../platform/redact.js';
import type { NormalizedSignal } from './normalize.js';

export type InboxStatus = 'received' | 'processed' | 'ignored' | 'failed';

/**
 * Records a signal before anything acts on it. Returns false when the id is already there: a
 * redelivery, to be acknowledged and ignored.
 */
export async function recordSignal(db: Queryable, signal: NormalizedSignal, source: string, payload: unknown): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO ops.event_inbox (event_id, source, event_type, subject, event_time, payload)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING`,
    [signal.id, source, signal.eventType, signal.subject, signal.time, redactValue(payload ?? null)],
  );
  return (rowCount ?? 0) > 0;
}

export async function markSignal(db: Queryable, id: string, status: InboxStatus, reason: string, jobRunId: number | null = null): Promise<void> {
  await db.query(
    `UPDATE ops.event_inbox SET status = $2, reason = $3, job_run_id = $4, processed_at = now() WHERE event_id = $1`,
    [id, status, reason, jobRunId],
  );
}
