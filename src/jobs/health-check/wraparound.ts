import { qualified } from '../../platform/db/sql.js';
import type { Finding, Severity } from '../../shared/job.js';
import { whenBelow, type CheckResult, type HealthCheck } from './check.js';
import type { HealthCheckSettings } from './settings.js';
import { describeHolder, readXminHolders } from './xmin-horizon.js';

/** Transaction IDs and multixact IDs each wrap at 2^31; the server refuses writes shortly before. */
export const WRAP_LIMIT = 2 ** 31;
/** Tables reported per kind (the oldest ones). */
const TABLES = 5;

type Kind = 'xid' | 'multixact';

/** Tables, materialized views and TOAST tables: what has a relfrozenxid (partitioned parents do not). */
const fromTables = `FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    LEFT JOIN pg_class owner ON c.relkind = 't' AND owner.reltoastrelid = c.oid
                    LEFT JOIN pg_namespace owner_ns ON owner_ns.oid = owner.relnamespace
                   WHERE c.relkind IN ('r', 'm', 't')`;
const toastOwner = `CASE WHEN owner.oid IS NOT NULL THEN format('%I.%I', owner_ns.nspname, owner.relname) END`;

interface AgeRow { name: string; xid_age: number; mxid_age: number }
interface TableRow { schema: string; table: string; toast_of: string | null; xid_age: number; mxid_age: number }

const label = (k: Kind) => (k === 'xid' ? 'transaction IDs' : 'multixact IDs');

function severityOf(age: number, freezeMaxAge: number, s: HealthCheckSettings): Severity {
  const remaining = WRAP_LIMIT - age;
  const byRemaining = whenBelow(remaining, s.xidRemainingWarning, s.xidRemainingCritical);
  if (byRemaining !== 'info') return byRemaining;
  return (100 * age) / freezeMaxAge > s.freezeAgeWarningPercent ? 'warning' : 'info';
}

/**
 * XID and multixact age reported separately (they wrap independently and have their own
 * autovacuum trigger), per database (every one on the server) and per table of this database,
 * TOAST tables included, against autovacuum_freeze_max_age / autovacuum_multixact_freeze_max_age
 * and the 2^31 limit. The findings name what holds the xmin horizon back.
 */
export const wraparoundCheck: HealthCheck = {
  name: 'wraparound',
  async run(c): Promise<CheckResult> {
    const s = c.settings;
    const { rows } = await c.db.query<{ freeze_max: number; mxid_freeze_max: number; databases: AgeRow[]; tables: TableRow[] | null }>(
      `SELECT current_setting('autovacuum_freeze_max_age')::bigint::float8 AS freeze_max,
              current_setting('autovacuum_multixact_freeze_max_age')::bigint::float8 AS mxid_freeze_max,
              (SELECT json_agg(json_build_object('name', datname, 'xid_age', age(datfrozenxid), 'mxid_age', mxid_age(datminmxid)) ORDER BY datname)
                 FROM pg_database WHERE datallowconn) AS databases,
              (SELECT json_agg(t) FROM (
                 (SELECT n.nspname::text AS schema, c.relname::text AS table, ${toastOwner} AS toast_of, age(c.relfrozenxid) AS xid_age, mxid_age(c.relminmxid) AS mxid_age
                    ${fromTables} ORDER BY age(c.relfrozenxid) DESC LIMIT $1)
                 UNION
                 (SELECT n.nspname::text, c.relname::text, ${toastOwner}, age(c.relfrozenxid), mxid_age(c.relminmxid)
                    ${fromTables} ORDER BY mxid_age(c.relminmxid) DESC LIMIT $1)) t) AS tables`,
      [TABLES],
    );
    const r = rows[0]!;
    const limits: Record<Kind, number> = { xid: r.freeze_max, multixact: r.mxid_freeze_max };
    const ageOf = (row: { xid_age: number; mxid_age: number }, k: Kind) => (k === 'xid' ? row.xid_age : row.mxid_age);
    const findings: Finding[] = [];
    const metrics: Record<string, number | null> = {};
    let holders: string | undefined;
    const holderText = async () => (holders ??= describeHolder((await readXminHolders(c.db, 1))[0]));

    for (const k of ['xid', 'multixact'] as const) {
      const setting = k === 'xid' ? 'autovacuum_freeze_max_age' : 'autovacuum_multixact_freeze_max_age';
      const dbs = [...r.databases].sort((a, b) => ageOf(b, k) - ageOf(a, k));
      const worst = dbs[0];
      metrics[`wraparound.${k}-age`] = worst ? ageOf(worst, k) : null;
      metrics[`wraparound.${k}-remaining`] = worst ? WRAP_LIMIT - ageOf(worst, k) : null;
      for (const d of dbs) {
        const age = ageOf(d, k);
        const sev = severityOf(age, limits[k], s);
        if (sev === 'info' && d !== worst) continue;
        const remaining = WRAP_LIMIT - age;
        const pct = Math.round((100 * age) / limits[k]);
        findings.push({
          check: k === 'xid' ? 'wraparound' : 'wraparound.multixact',
          severity: sev,
          target: d.name,
          message: `${(remaining / 1e9).toFixed(2)} billion ${label(k)} left before wraparound in ${d.name} (oldest unfrozen ${age.toLocaleString('en')}, ${pct} % of ${setting} ${limits[k].toLocaleString('en')})${sev !== 'info' ? `; ${await holderText()}` : ''}`,
          value: remaining,
          threshold: s.xidRemainingWarning,
          details: { age, freezeMaxAge: limits[k], percentOfFreezeMaxAge: pct },
          ...(sev !== 'info' ? { remedy: `release what holds the xmin horizon back, then VACUUM (FREEZE, VERBOSE) the oldest tables of ${d.name} (the wraparound.table findings when run against it)` } : {}),
        });
      }
      const tables = [...(r.tables ?? [])].sort((a, b) => ageOf(b, k) - ageOf(a, k)).slice(0, TABLES);
      for (const t of tables) {
        const age = ageOf(t, k);
        const sev = severityOf(age, limits[k], s);
        if (sev === 'info') continue;
        const name = t.toast_of ? `${t.schema}.${t.table} (TOAST of ${t.toast_of})` : `${t.schema}.${t.table}`;
        findings.push({
          check: k === 'xid' ? 'wraparound.table' : 'wraparound.table-multixact',
          severity: sev,
          target: name,
          message: `${name} has ${label(k)} ${age.toLocaleString('en')} old unfrozen, ${Math.round((100 * age) / limits[k])} % of ${setting}: autovacuum has not frozen it; ${await holderText()}`,
          value: age,
          threshold: Math.round((limits[k] * s.freezeAgeWarningPercent) / 100),
          remedy: t.toast_of ? `VACUUM (FREEZE, VERBOSE) ${t.toast_of} -- vacuums its TOAST table too` : `VACUUM (FREEZE, VERBOSE) ${qualified(t.schema, t.table)}`,
        });
      }
    }
    return { findings, metrics: { ...metrics, 'wraparound.remaining': Math.min(metrics['wraparound.xid-remaining'] ?? WRAP_LIMIT, metrics['wraparound.multixact-remaining'] ?? WRAP_LIMIT) } };
  },
};
