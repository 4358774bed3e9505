import type { LogAnalytics } from '../../platform/azure/index.js';
import { parseLogTime, parsePlanPrefix } from './log-entries.js';
import type { LogWindow, ServerLogEntry, ServerLogSource } from '../../shared/security-services.js';

/**
 * The Log Analytics query for the server log (diagnostic category PostgreSQLLogs, which lands in
 * AzureDiagnostics). It keeps only the lines security-audit reads: connections, authentication
 * failures (SQLSTATE class 28) and statements that change roles or privileges, so a day of
 * log_statement = 'all' is not shipped to the Function. {start} and {end} are ISO-8601 times.
 */
export const SERVER_LOG_KQL = `AzureDiagnostics
| where ResourceProvider == "MICROSOFT.DBFORPOSTGRESQL" and Category == "PostgreSQLLogs"
| where TimeGenerated >= todatetime("{start}") and TimeGenerated < todatetime("{end}")
| where Message has_any ("connection received", "connection authorized")
    or sqlerrcode_s in ("28P01", "28000")
    or Message matches regex @"(?i)(statement|execute [^:]*):\\s[\\s\\S]*\\b(GRANT|REVOKE|(CREATE|ALTER|DROP)\\s+(ROLE|USER|GROUP)|ALTER\\s+DEFAULT\\s+PRIVILEGES|REASSIGN\\s+OWNED)\\b"
| project TimeGenerated, Message, ErrorLevel = errorLevel_s, SqlState = sqlerrcode_s, Server = LogicalServerName_s
| order by TimeGenerated asc`;

export function serverLogQuery(window: LogWindow): string {
  return SERVER_LOG_KQL.replace('{start}', window.start.toISOString()).replace('{end}', window.end.toISOString());
}

/** One row of SERVER_LOG_KQL's result, as @azure/monitor-query-logs returns table rows by column name. */
export interface ServerLogRow {
  TimeGenerated: Date | string;
  Message: string;
  ErrorLevel?: string | null;
  SqlState?: string | null;
}

/**
 * A row → entry. Azure puts the log_line_prefix in Message; with the plan's prefix the user,
 * database, application and client come from it. Without it only the message's own fields
 * (host= of a connection, the user of an authentication failure) are known.
 */
export function entryFromLogAnalyticsRow(row: ServerLogRow): ServerLogEntry {
  const prefixed = parsePlanPrefix(row.Message);
  const time = row.TimeGenerated instanceof Date ? row.TimeGenerated : new Date(row.TimeGenerated);
  const level = row.ErrorLevel ?? prefixed?.level ?? 'LOG';
  return {
    time: Number.isNaN(time.getTime()) && prefixed ? parseLogTime(prefixed.time) : time,
    user: prefixed?.user ?? null,
    database: prefixed?.database ?? null,
    clientAddress: prefixed?.clientAddress ?? null,
    application: prefixed?.application ?? null,
    severity: level,
    sqlstate: row.SqlState || null,
    message: prefixed?.message ?? row.Message.replace(/^.*?\b(?:LOG|FATAL|ERROR|WARNING):\s+/, ''),
  };
}

/** Runs a KQL query over the window and returns its primary table's rows. */
export type LogAnalyticsQuery = (kql: string, window: LogWindow, signal?: AbortSignal) => Promise<ServerLogRow[]>;

/**
 * The server log from Log Analytics. Wiring it: pass a function that calls
 * LogsQueryClient.queryWorkspace(workspaceId, kql, { startTime: window.start, endTime: window.end })
 * and maps tables[0] rows to objects by column name.
 */
export function logAnalyticsSource(workspaceId: string, query: LogAnalyticsQuery): ServerLogSource {
  return {
    id: `log-analytics:${workspaceId}`,
    async *entries(window, signal) {
      for (const row of await query(serverLogQuery(window), window, signal)) yield entryFromLogAnalyticsRow(row);
    },
  };
}

/** The server log through the Azure client layer's Log Analytics client (what production uses). */
export function azureLogSource(logs: LogAnalytics): ServerLogSource {
  return logAnalyticsSource(logs.workspaceId, async (kql, window) => {
    const result = await logs.query(kql, { startTime: window.start, endTime: window.end });
    if (result.partialError) throw new Error(`Log Analytics answered only part of the server-log query: ${result.partialError}`);
    return (result.tables[0]?.rows ?? []).map((r) => ({
      TimeGenerated: r.TimeGenerated instanceof Date ? r.TimeGenerated : String(r.TimeGenerated ?? ''),
      Message: String(r.Message ?? ''),
      ErrorLevel: typeof r.ErrorLevel === 'string' ? r.ErrorLevel : null,
      SqlState: typeof r.SqlState === 'string' ? r.SqlState : null,
    }));
  });
}
