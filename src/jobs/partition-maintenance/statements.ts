import { ident, qualified } from '../../platform/db/sql.js';
import { boundLiteral, type KeyType } from './periods.js';

/** The CHECK added to a new partition so ATTACH need not scan it; dropped once attached. */
export const BOUND_CHECK = 'dbops_partition_bound';

export interface Rel {
  schema: string;
  name: string;
}
export interface Range {
  from: Date;
  to: Date;
}

const q = (r: Rel) => qualified(r.schema, r.name);
const forValues = (range: Range, keyType: KeyType) => `FOR VALUES FROM (${boundLiteral(range.from, keyType)}) TO (${boundLiteral(range.to, keyType)})`;

/** A standalone table shaped like the parent, with its indexes, and a CHECK matching the range. */
export function createStandalone(parent: Rel, part: Rel, key: string, range: Range, keyType: KeyType): string {
  const k = ident(key);
  return (
    `CREATE TABLE ${q(part)} (LIKE ${q(parent)} INCLUDING DEFAULTS INCLUDING INDEXES INCLUDING STORAGE INCLUDING COMPRESSION, ` +
    `CONSTRAINT ${ident(BOUND_CHECK)} CHECK (${k} IS NOT NULL AND ${k} >= ${boundLiteral(range.from, keyType)} AND ${k} < ${boundLiteral(range.to, keyType)}))`
  );
}

export const attach = (parent: Rel, part: Rel, range: Range, keyType: KeyType) =>
  `ALTER TABLE ${q(parent)} ATTACH PARTITION ${q(part)} ${forValues(range, keyType)}`;

export const dropBoundCheck = (part: Rel) => `ALTER TABLE ${q(part)} DROP CONSTRAINT IF EXISTS ${ident(BOUND_CHECK)}`;

export const detachConcurrently = (parent: Rel, part: Rel) => `ALTER TABLE ${q(parent)} DETACH PARTITION ${q(part)} CONCURRENTLY`;
export const detachFinalize = (parent: Rel, part: Rel) => `ALTER TABLE ${q(parent)} DETACH PARTITION ${q(part)} FINALIZE`;
/** With a default partition, CONCURRENTLY is refused; the plain form takes ACCESS EXCLUSIVE briefly. */
export const detachPlain = (parent: Rel, part: Rel) => `ALTER TABLE ${q(parent)} DETACH PARTITION ${q(part)}`;

export const dropTable = (part: Rel) => `DROP TABLE ${q(part)}`;

export const copyOut = (part: Rel) => `COPY ${q(part)} TO STDOUT`;

/** Moves one batch of a period's rows from the default partition into the standalone table. */
export function moveBatch(from: Rel, into: Rel, key: string, columns: readonly string[], range: Range, keyType: KeyType, limit: number | null): string {
  const cols = columns.map(ident).join(', ');
  const k = ident(key);
  const where = `${k} >= ${boundLiteral(range.from, keyType)} AND ${k} < ${boundLiteral(range.to, keyType)}`;
  const pick = limit === null ? `WHERE ${where}` : `WHERE ctid = ANY (ARRAY(SELECT ctid FROM ${q(from)} WHERE ${where} LIMIT ${limit}))`;
  return `WITH moved AS (DELETE FROM ${q(from)} ${pick} RETURNING ${cols}) INSERT INTO ${q(into)} (${cols}) SELECT ${cols} FROM moved`;
}

/** One batch of the slow path for an unpartitioned table. */
export function deleteBatch(table: Rel, key: string, cutoff: Date, keyType: KeyType, limit: number): string {
  const k = ident(key);
  return `DELETE FROM ${q(table)} WHERE ctid = ANY (ARRAY(SELECT ctid FROM ${q(table)} WHERE ${k} < ${boundLiteral(cutoff, keyType)} LIMIT ${limit}))`;
}
