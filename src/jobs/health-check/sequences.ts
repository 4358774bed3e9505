import { qualified } from '../../platform/db/sql.js';
import type { Finding } from '../../shared/job.js';
import { round, whenAbove, type CheckResult, type HealthCheck } from './check.js';

/** Sequences reported by name (the fullest; and the first few never used or unreadable). */
const LISTED = 20;

interface SequenceRow {
  schema: string;
  name: string;
  last_value: string | null;
  readable: boolean;
  cycle: boolean;
  seq_type: string;
  column_name: string | null;
  column_type: string | null;
  /** The value the next insert cannot go past: the sequence's own bound or its column type's, whichever is nearer. */
  limit_value: string;
  limited_by_column: boolean;
  used: number | null;
}

/**
 * Each sequence against the column it feeds (OWNED BY, identity, or a DEFAULT nextval()), not
 * only its own bounds: a bigint sequence behind an integer column fails inserts at 2^31 − 1.
 */
const sequencesSql = `
WITH feeds AS (
  -- Joined from the sequences, not looked up one by one: OWNED BY and identity columns (the
  -- sequence depends on the column), and DEFAULT nextval() (the default depends on the sequence).
  SELECT sq.seqrelid AS seqid, d.refobjid AS relid, d.refobjsubid AS attnum
    FROM pg_sequence sq JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = sq.seqrelid
   WHERE d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
  UNION ALL
  SELECT sq.seqrelid, ad.adrelid, ad.adnum
    FROM pg_sequence sq JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = sq.seqrelid AND d.classid = 'pg_attrdef'::regclass
    JOIN pg_attrdef ad ON ad.oid = d.objid),
col AS (
  -- The narrowest column a sequence feeds; named later, for the listed sequences only.
  SELECT DISTINCT ON (f.seqid) f.seqid, f.relid, f.attnum, a.atttypid, a.atttypmod,
         (CASE a.atttypid WHEN 'int2'::regtype THEN 32767 WHEN 'int4'::regtype THEN 2147483647 WHEN 'int8'::regtype THEN 9223372036854775807 END)::numeric AS column_max
    FROM feeds f JOIN pg_attribute a ON a.attrelid = f.relid AND a.attnum = f.attnum
   ORDER BY f.seqid, 6 NULLS LAST),
seq AS (
  -- pg_sequences' own definition, without the view (so nothing joins back by name).
  SELECT n.nspname::text AS schema, c.relname::text AS name,
         (CASE WHEN has_sequence_privilege(c.oid, 'SELECT,USAGE') THEN pg_sequence_last_value(c.oid) END)::numeric AS last_value,
         s.seqmin::numeric AS min_value, s.seqmax::numeric AS max_value, s.seqincrement AS increment_by, s.seqcycle AS cycle, format_type(s.seqtypid, NULL) AS seq_type,
         has_sequence_privilege(c.oid, 'SELECT,USAGE') AS readable,
         col.relid, col.attnum, col.atttypid, col.atttypmod, col.column_max
    FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN col ON col.seqid = s.seqrelid
   WHERE NOT pg_is_other_temp_schema(n.oid)),
bounded AS (
  SELECT seq.*,
         CASE WHEN increment_by > 0 THEN least(max_value, coalesce(column_max, max_value)) ELSE max_value END AS hi,
         CASE WHEN increment_by > 0 THEN min_value ELSE greatest(min_value, -coalesce(column_max, -min_value) - 1) END AS lo
    FROM seq),
measured AS (
  SELECT schema, name, last_value, readable, cycle, seq_type, relid, attnum, atttypid, atttypmod,
         CASE WHEN increment_by > 0 THEN hi ELSE lo END AS limit_value,
         (CASE WHEN increment_by > 0 THEN hi < max_value ELSE lo > min_value END) AS limited_by_column,
         (100 * CASE WHEN increment_by > 0 THEN last_value - lo ELSE hi - last_value END / nullif(hi - lo, 0))::float8 AS used
    FROM bounded),
listed AS (
  -- A cycling sequence wraps within its own bounds: it fails only when its column is narrower.
  (SELECT *, 'fullest' AS list FROM measured WHERE used IS NOT NULL AND (NOT cycle OR limited_by_column) ORDER BY used DESC, schema, name LIMIT $1)
  UNION ALL
  (SELECT *, 'unmeasured' FROM measured WHERE last_value IS NULL ORDER BY schema, name LIMIT $1)),
named AS (
  SELECT l.schema, l.name, l.last_value::text, l.readable, l.cycle, l.seq_type, l.limit_value::text, l.limited_by_column, l.used, l.list,
         CASE WHEN a.attname IS NOT NULL THEN format('%I.%I.%I', tn.nspname, t.relname, a.attname) END AS column_name,
         format_type(l.atttypid, l.atttypmod) AS column_type
    FROM listed l LEFT JOIN pg_attribute a ON a.attrelid = l.relid AND a.attnum = l.attnum
    LEFT JOIN pg_class t ON t.oid = l.relid LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace)
SELECT (SELECT coalesce(json_agg(m ORDER BY m.used DESC, m.schema, m.name), '[]') FROM named m WHERE m.list = 'fullest') AS fullest,
       (SELECT coalesce(json_agg(m ORDER BY m.schema, m.name), '[]') FROM named m WHERE m.list = 'unmeasured') AS unmeasured,
       (SELECT count(*) FILTER (WHERE last_value IS NULL AND readable) FROM measured)::int AS never_used,
       (SELECT count(*) FILTER (WHERE NOT readable) FROM measured)::int AS unreadable,
       (SELECT count(*) FROM measured)::int AS total`;

export const sequencesCheck: HealthCheck = {
  name: 'sequences',
  async run(c): Promise<CheckResult> {
    const { rows } = await c.db.query<{ fullest: SequenceRow[]; unmeasured: SequenceRow[]; never_used: number; unreadable: number; total: number }>(sequencesSql, [LISTED]);
    const r = rows[0]!;
    const s = c.settings;
    const findings: Finding[] = [];
    const fullest = r.fullest;
    for (const q of fullest) {
      const used = q.used ?? 0;
      const sev = whenAbove(used, s.sequenceWarningPercent, s.sequenceCriticalPercent);
      if (sev === 'info') continue;
      const feeds = q.column_name ? ` feeding ${q.column_name} (${q.column_type})` : '';
      const bound = q.limited_by_column ? `the ${q.column_type} column’s limit ${q.limit_value}, below the ${q.seq_type} sequence’s own` : `its limit ${q.limit_value}`;
      findings.push({
        check: 'sequences.near-max',
        severity: sev,
        target: `${q.schema}.${q.name}`,
        message: `sequence ${q.schema}.${q.name}${feeds} has used ${round(used, 2)} % of its range (at ${q.last_value} of ${bound}); inserts fail when it runs out`,
        value: round(used, 2),
        threshold: s.sequenceWarningPercent,
        unit: '%',
        remedy: q.limited_by_column && q.column_name
          ? `ALTER TABLE … ALTER COLUMN … TYPE bigint for ${q.column_name} (rewrites the table: plan a window, or add a bigint column and backfill)`
          : `ALTER SEQUENCE ${qualified(q.schema, q.name)} AS bigint MAXVALUE 9223372036854775807${q.column_name ? ` (and widen ${q.column_name} to bigint)` : ''}`,
        details: { column: q.column_name, columnType: q.column_type, sequenceType: q.seq_type, limit: q.limit_value, limitedByColumn: q.limited_by_column },
      });
    }
    const unreadable = r.unmeasured.filter((q) => !q.readable).map((q) => `${q.schema}.${q.name}`);
    if (r.unreadable > 0) {
      findings.push({
        check: 'sequences.unreadable',
        severity: 'warning',
        target: unreadable.join(', '),
        message: `${r.unreadable} sequence${r.unreadable === 1 ? '' : 's'} cannot be read by this role, so how full ${r.unreadable === 1 ? 'it is' : 'they are'} is unknown: ${unreadable.join(', ')}${r.unreadable > unreadable.length ? ', …' : ''}`,
        value: r.unreadable,
        remedy: 'GRANT SELECT ON ALL SEQUENCES IN SCHEMA … TO the health-check role (or grant it pg_read_all_data)',
      });
    }
    if (findings.length === 0 || findings.every((f) => f.check !== 'sequences.near-max')) {
      const top = fullest[0];
      findings.push({
        check: 'sequences.near-max',
        severity: 'info',
        message: `no sequence above ${s.sequenceWarningPercent} % of its range or its column’s (highest ${round(top?.used ?? 0, 2)} %${top ? `, ${top.schema}.${top.name}` : ''}; ${r.total} sequences, ${r.never_used} never used yet)`,
      });
    }
    return { findings, metrics: { 'sequences.max-used-percent': fullest[0] ? round(fullest[0].used ?? 0, 2) : null, 'sequences.never-used': r.never_used, 'sequences.unreadable': r.unreadable } };
  },
};
