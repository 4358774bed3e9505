import { redact } from '../../platform/redact.js';
import type { ServerLogEntry } from '../../shared/security-services.js';

export type EntryKind = 'connection-received' | 'connection-authorized' | 'failed-login' | 'privilege-statement' | 'other';

export interface ClassifiedEntry extends ServerLogEntry {
  kind: EntryKind;
  /** The SQL of a privilege statement, redacted and cut to a readable length. */
  statement?: string;
}

/** SQLSTATE class 28: invalid authorization (28P01 wrong password; 28000 no pg_hba entry, unknown role). */
const AUTH_FAILURE_STATES = new Set(['28P01', '28000']);
const AUTH_FAILURE_TEXT = /password authentication failed|authentication failed for user|no pg_hba\.conf entry|pg_hba\.conf rejects connection|role "[^"]*" does not exist/i;

const STATEMENT_LINE = /^(?:duration: [\d.]+ ms\s+)?(?:statement|execute [^:]*):\s([\s\S]*)$/;
/** A statement that changes who may do what: at the start of the text or after a semicolon. */
const PRIVILEGE_STATEMENT =
  /(?:^|;)\s*(?:GRANT\s|REVOKE\s|(?:CREATE|ALTER|DROP)\s+(?:ROLE|USER|GROUP)\s|ALTER\s+DEFAULT\s+PRIVILEGES\s|REASSIGN\s+OWNED\s)/i;
/** Inside a DO block the same words are run through EXECUTE, so they may appear anywhere. */
const PRIVILEGE_WORDS = /\b(?:GRANT|REVOKE)\b|\b(?:CREATE|ALTER|DROP)\s+(?:ROLE|USER|GROUP)\b|\bALTER\s+DEFAULT\s+PRIVILEGES\b/i;
const MAX_STATEMENT = 1000;

/** The SQL of a log_statement line, or undefined for other lines. */
export function statementOf(message: string): string | undefined {
  return STATEMENT_LINE.exec(message)?.[1];
}

export function isPrivilegeStatement(sql: string): boolean {
  const code = sql.replace(/--[^\n]*/g, ' ').replace(/\/\*[\s\S]*?\*\//g, ' ');
  if (PRIVILEGE_STATEMENT.test(code)) return true;
  return /^\s*DO\b/i.test(code) && PRIVILEGE_WORDS.test(code);
}

/** "127.0.0.1:5432" → "127.0.0.1"; "::1:5432" → "::1"; "[local]" → null. */
export function hostOfConnectionFrom(value: string | null | undefined): string | null {
  if (!value || value === '[local]') return null;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
  if (bracketed) return bracketed[1] ?? null;
  const m = /^(.*):(\d+)$/.exec(value);
  return m?.[1] ? m[1] : value;
}

function userFromMessage(message: string): string | null {
  return /for user "([^"]*)"/.exec(message)?.[1] ?? /role "([^"]*)" does not exist/.exec(message)?.[1] ?? /user="([^"]*)"/.exec(message)?.[1] ?? null;
}

/**
 * Redacts, then classifies one entry. Redaction comes first so no later step (grouping,
 * findings, logging) ever holds a password from an ALTER ROLE ... PASSWORD line.
 */
export function classifyEntry(raw: ServerLogEntry): ClassifiedEntry {
  const message = redact(raw.message);
  const entry: ClassifiedEntry = { ...raw, message, kind: 'other' };
  const severity = raw.severity.toUpperCase();
  if (message.startsWith('connection received:')) {
    entry.kind = 'connection-received';
    entry.clientAddress ??= /host=(\S+)/.exec(message)?.[1] ?? null;
    return entry;
  }
  if (message.startsWith('connection authorized:')) {
    entry.kind = 'connection-authorized';
    entry.user ??= /user=(\S+)/.exec(message)?.[1] ?? null;
    entry.database ??= /database=(\S+)/.exec(message)?.[1] ?? null;
    return entry;
  }
  if (severity === 'FATAL' && ((raw.sqlstate && AUTH_FAILURE_STATES.has(raw.sqlstate)) || (!raw.sqlstate && AUTH_FAILURE_TEXT.test(message)))) {
    entry.kind = 'failed-login';
    entry.user ??= userFromMessage(message);
    return entry;
  }
  const sql = statementOf(message);
  if (sql !== undefined && isPrivilegeStatement(sql)) {
    entry.kind = 'privilege-statement';
    const trimmed = sql.trim();
    entry.statement = trimmed.length > MAX_STATEMENT ? `${trimmed.slice(0, MAX_STATEMENT)}…` : trimmed;
  }
  return entry;
}

/**
 * The plan's log_line_prefix, '%t [%p]: user=%u,db=%d,app=%a,client=%h ' (section 4.3.1), as it
 * opens every message in Log Analytics and in stderr logs; csvlog carries the same fields as
 * columns. Returns the fields and the message after the prefix and the "LOG:  " level.
 */
const PLAN_PREFIX =
  /^(?<time>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? \S+) \[(?<pid>\d+)\]: user=(?<user>[^,]*),db=(?<db>[^,]*),app=(?<app>.*?),client=(?<client>\S*) (?:(?<level>[A-Z]+):\s+)?(?<rest>[\s\S]*)$/;

export interface PrefixedLine {
  time: string;
  user: string | null;
  database: string | null;
  application: string | null;
  clientAddress: string | null;
  level: string | null;
  message: string;
}

export function parsePlanPrefix(line: string): PrefixedLine | undefined {
  const g = PLAN_PREFIX.exec(line)?.groups;
  if (!g) return undefined;
  const orNull = (v: string | undefined) => (v && v !== '[unknown]' ? v : null);
  return {
    time: g.time ?? '',
    user: orNull(g.user),
    database: orNull(g.db),
    application: orNull(g.app),
    clientAddress: g.client && g.client !== '[local]' ? orNull(g.client) : null,
    level: g.level ?? null,
    message: g.rest ?? '',
  };
}

/**
 * PostgreSQL's log time, "2025-01-31 12:00:00.123 UTC" (or an offset such as +09). Zone
 * abbreviations other than UTC/GMT are ambiguous: set log_timezone = 'UTC' (Azure's default).
 */
export function parseLogTime(text: string): Date {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)(?: (\S+))?$/.exec(text.trim());
  if (!m) throw new Error(`unreadable log time "${text}"`);
  const zone = m[3] ?? 'UTC';
  let offset: string;
  if (/^(UTC|GMT|Z|UCT)$/i.test(zone)) offset = 'Z';
  else if (/^[+-]\d{2}(:?\d{2})?$/.test(zone)) offset = zone.length === 3 ? `${zone}:00` : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  else throw new Error(`log time zone "${zone}" is ambiguous: set log_timezone = 'UTC' on the server`);
  const date = new Date(`${m[1]}T${m[2]}${offset}`);
  if (Number.isNaN(date.getTime())) throw new Error(`unreadable log time "${text}"`);
  return date;
}
