import type { Queryable } from '../../platform/db/sql.js';

export type RecordStep = 'generated' | 'staged' | 'set' | 'tested' | 'finished' | 'rolled-back' | 'discarded';
const CLOSED: readonly RecordStep[] = ['finished', 'rolled-back', 'discarded'];

export interface RotationRecord {
  id: number;
  secretName: string;
  roleName: string;
  loginName: string;
  mode: 'single' | 'dual';
  step: RecordStep;
  previousVersion: string | null;
  newVersion: string | null;
}

interface Row {
  id: string;
  secret_name: string;
  role_name: string;
  login_name: string;
  mode: 'single' | 'dual';
  step: RecordStep;
  previous_version: string | null;
  new_version: string | null;
}

const fromRow = (r: Row): RotationRecord => ({
  id: Number(r.id),
  secretName: r.secret_name,
  roleName: r.role_name,
  loginName: r.login_name,
  mode: r.mode,
  step: r.step,
  previousVersion: r.previous_version,
  newVersion: r.new_version,
});

/** Writes the record before anything changes; fails if another rotation of the secret is open. */
export async function openRecord(
  db: Queryable,
  r: { secretName: string; roleName: string; loginName: string; mode: 'single' | 'dual'; previousVersion: string | null; fingerprint: string; eventId: string | null; runId: number | null },
): Promise<RotationRecord> {
  const { rows } = await db.query<Row>(
    `INSERT INTO ops.password_rotation (secret_name, role_name, login_name, mode, step, previous_version, fingerprint, event_id, run_id)
     VALUES ($1, $2, $3, $4, 'generated', $5, $6, $7, $8) RETURNING *`,
    [r.secretName, r.roleName, r.loginName, r.mode, r.previousVersion, r.fingerprint, r.eventId, r.runId],
  );
  return fromRow(rows[0]!);
}

export async function advanceRecord(db: Queryable, id: number, step: RecordStep, fields: { newVersion?: string; expiresAt?: Date; note?: string } = {}): Promise<void> {
  await db.query(
    `UPDATE ops.password_rotation
        SET step = $2, new_version = coalesce($3, new_version), expires_at = coalesce($4, expires_at),
            note = coalesce($5, note), updated_at = now(), finished_at = CASE WHEN $2 = ANY($6) THEN now() END
      WHERE id = $1`,
    [id, step, fields.newVersion ?? null, fields.expiresAt ?? null, fields.note ?? null, CLOSED],
  );
}

export async function openRecordFor(db: Queryable, secretName: string): Promise<RotationRecord | null> {
  const { rows } = await db.query<Row>(
    `SELECT * FROM ops.password_rotation WHERE lower(secret_name) = lower($1) AND step <> ALL($2) ORDER BY id DESC LIMIT 1`,
    [secretName, CLOSED],
  );
  return rows[0] ? fromRow(rows[0]) : null;
}

/** Fingerprints of the secret's last `n` generated passwords, newest first. */
export async function recentFingerprints(db: Queryable, secretName: string, n: number): Promise<string[]> {
  if (n <= 0) return [];
  const { rows } = await db.query<{ fingerprint: string }>(
    `SELECT fingerprint FROM ops.password_rotation WHERE lower(secret_name) = lower($1) ORDER BY id DESC LIMIT $2`,
    [secretName, n],
  );
  return rows.map((r) => r.fingerprint);
}
