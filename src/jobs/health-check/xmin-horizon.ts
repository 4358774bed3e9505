import type { Queryable } from '../../platform/db/sql.js';
import type { Finding } from '../../shared/job.js';
import { formatDuration, type CheckResult, type HealthCheck } from './check.js';

/** Something that keeps the oldest transaction ID vacuum must preserve (the xmin horizon) back. */
export interface XminHolder {
  kind: 'session' | 'standby-feedback' | 'prepared' | 'slot';
  /** Who: "pid 123 (app, user) in db", "prepared transaction 'gid'", "replication slot s". */
  name: string;
  /** Transactions consumed since its xmin (age()). */
  age: number;
  /** How to release it. */
  remedy: string;
}

const q = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * The oldest backend_xmin / backend_xid of every session in every database (a walsender's is a
 * standby's hot_standby_feedback), prepared transactions, and replication slots' xmin and
 * catalog_xmin: the four things that stop vacuum removing dead rows and stop freezing.
 */
export async function readXminHolders(db: Queryable, limit = 3): Promise<XminHolder[]> {
  const { rows } = await db.query<{
    sessions: Array<{ pid: number; datname: string | null; usename: string | null; application_name: string; backend_type: string; state: string | null; age: number; xact_s: number | null }> | null;
    prepared: Array<{ gid: string; database: string; owner: string; age: number }> | null;
    slots: Array<{ slot_name: string; active: boolean; age: number; catalog: boolean }> | null;
  }>(
    `SELECT (SELECT json_agg(s) FROM (
               SELECT pid, datname, usename::text, application_name, backend_type, state,
                      greatest(age(backend_xmin), age(backend_xid)) AS age, extract(epoch FROM now() - xact_start)::float8 AS xact_s
                 FROM pg_stat_activity
                WHERE pid <> pg_backend_pid() AND (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL)
                ORDER BY 7 DESC LIMIT $1) s) AS sessions,
            (SELECT json_agg(p) FROM (
               SELECT gid, database, owner::text, age(transaction) AS age FROM pg_prepared_xacts ORDER BY 4 DESC LIMIT $1) p) AS prepared,
            (SELECT json_agg(sl) FROM (
               SELECT slot_name, active, greatest(age(xmin), age(catalog_xmin)) AS age, xmin IS NULL AS catalog
                 FROM pg_replication_slots WHERE xmin IS NOT NULL OR catalog_xmin IS NOT NULL ORDER BY 3 DESC LIMIT $1) sl) AS slots`,
    [limit],
  );
  const r = rows[0];
  const out: XminHolder[] = [];
  for (const s of r?.sessions ?? []) {
    if (s.backend_type === 'walsender') {
      out.push({ kind: 'standby-feedback', name: `standby ${s.application_name || `pid ${s.pid}`} (hot_standby_feedback)`, age: s.age, remedy: 'end the long queries on the standby, or turn hot_standby_feedback off there (its queries may then be cancelled)' });
    } else {
      const open = s.xact_s !== null ? `, transaction open ${formatDuration(s.xact_s)}` : '';
      out.push({
        kind: 'session',
        name: `pid ${s.pid} (${s.usename ?? '?'}${s.application_name ? `, ${s.application_name}` : ''}) in ${s.datname ?? '?'}, ${s.state ?? s.backend_type}${open}`,
        age: s.age,
        remedy: `SELECT pg_terminate_backend(${s.pid})`,
      });
    }
  }
  for (const p of r?.prepared ?? []) {
    out.push({ kind: 'prepared', name: `prepared transaction ${q(p.gid)} in ${p.database} (owner ${p.owner})`, age: p.age, remedy: `ROLLBACK PREPARED ${q(p.gid)} (connected to ${p.database})` });
  }
  for (const sl of r?.slots ?? []) {
    out.push({
      kind: 'slot',
      name: `replication slot ${sl.slot_name}${sl.active ? '' : ' (inactive)'}${sl.catalog ? ' catalog_xmin' : ' xmin'}`,
      age: sl.age,
      remedy: sl.active ? 'the slot’s consumer is behind: speed it up' : `SELECT pg_drop_replication_slot(${q(sl.slot_name)}) -- if its consumer is gone for good`,
    });
  }
  return out.sort((a, b) => b.age - a.age);
}

/** "held back by …": the oldest holder, for the wraparound and vacuum findings. */
export function describeHolder(h: XminHolder | undefined): string {
  return h ? `the oldest xmin is held by ${h.name}, ${h.age.toLocaleString('en')} transactions old (${h.remedy})` : 'nothing holds the xmin horizon back now';
}

export const xminHorizonCheck: HealthCheck = {
  name: 'xmin-horizon',
  async run(c): Promise<CheckResult> {
    const holders = await readXminHolders(c.db);
    const limit = c.settings.xminHorizonWarningAge;
    const findings: Finding[] = holders
      .filter((h) => h.age > limit)
      .map((h) => ({
        check: 'xmin-horizon',
        severity: 'warning',
        target: h.name,
        message: `${h.name} holds the xmin horizon ${h.age.toLocaleString('en')} transactions back: vacuum cannot remove rows deleted since, and freezing cannot pass it`,
        value: h.age,
        threshold: limit,
        unit: 'xids',
        remedy: h.remedy,
        details: { kind: h.kind },
      }));
    if (findings.length === 0) findings.push({ check: 'xmin-horizon', severity: 'info', message: `nothing holds the xmin horizon more than ${limit.toLocaleString('en')} transactions back (${describeHolder(holders[0])})` });
    return { findings, metrics: { 'xmin-horizon.oldest-age': holders[0] ? holders[0].age : 0 } };
  },
};

