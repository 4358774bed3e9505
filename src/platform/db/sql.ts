import type pg from 'pg';
import { pgModule } from './pg.js';

/** Quotes an identifier that came from configuration or the catalog. */
export function ident(name: string): string {
  return pgModule().escapeIdentifier(name);
}

/** Quotes schema.name. */
export function qualified(schema: string, name: string): string {
  return `${ident(schema)}.${ident(name)}`;
}

export function literal(value: string): string {
  return pgModule().escapeLiteral(value);
}

/** True when a pg error is a lock_timeout (55P03); a statement_timeout (57014) is isStatementTimeout. */
export function isLockTimeout(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === '55P03';
}
export function isStatementTimeout(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === '57014';
}

/** Anything that runs a query: a pool, a client, a job's database. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}
