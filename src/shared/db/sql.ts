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

/** Parses "schema.table" (unquoted, as settings carry it) into parts; the default schema is public. */
export function parseQualifiedName(text: string): { schema: string; name: string } {
  const parts = text.split('.');
  if (parts.length === 1 && parts[0]) return { schema: 'public', name: parts[0] };
  if (parts.length === 2 && parts[0] && parts[1]) return { schema: parts[0], name: parts[1] };
  throw new Error(`"${text}" is not a table name: write it as schema.table, e.g. product_change.pc_kos_integration_log`);
}

/** True when a pg error is a lock_timeout (55P03) or a statement cancelled by statement_timeout (57014). */
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
