import type { LogsQueryClient } from '@azure/monitor-query-logs';
import { callAzure } from './errors.js';

export interface LogTable {
  name: string;
  columns: string[];
  /** One object per row, keyed by column name. */
  rows: Array<Record<string, unknown>>;
}

export interface LogQueryResult {
  tables: LogTable[];
  /** Set when the service answered only part of the query (the tables hold what it returned). */
  partialError?: string;
}

export interface LogAnalytics {
  readonly workspaceId: string;
  /** Runs a KQL query over `timespan` (ISO 8601 duration, e.g. PT24H, or an explicit range). */
  query(kql: string, timespan: { duration: string } | { startTime: Date; endTime: Date }): Promise<LogQueryResult>;
}

export function createLogAnalytics(loadClient: () => Promise<LogsQueryClient>, workspaceId: string): LogAnalytics {
  return {
    workspaceId,
    query: (kql, timespan) =>
      callAzure('Log Analytics query', `workspace ${workspaceId}`, async () => {
        const result = await (await loadClient()).queryWorkspace(workspaceId, kql, timespan);
        const partial = 'partialTables' in result ? result : undefined;
        const raw = partial ? partial.partialTables : 'tables' in result ? result.tables : [];
        const tables = raw.map((t) => {
          const columns = t.columnDescriptors.map((c) => c.name ?? '');
          return { name: t.name, columns, rows: t.rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]]))) };
        });
        return partial ? { tables, partialError: `${partial.partialError.code}: ${partial.partialError.message}` } : { tables };
      }),
  };
}
