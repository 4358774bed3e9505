import { redact } from './redact.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export type LogSink = (level: LogLevel, line: string) => void;

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * Every log line passes through redaction, whatever the sink. `json` writes one JSON object a
 * line; otherwise a readable line. The default sink writes to stderr so stdout stays clean
 * for `--json` output.
 */
export function createLogger(options: {
  sink?: LogSink;
  json?: boolean;
  level?: LogLevel;
  fields?: Record<string, unknown>;
} = {}): Logger {
  const sink = options.sink ?? ((_level, line) => process.stderr.write(`${line}\n`));
  const min = order[options.level ?? ((process.env.DBOPS_LOG_LEVEL as LogLevel | undefined) ?? 'info')] ?? 20;
  const base = options.fields ?? {};
  const write = (level: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (order[level] < min) return;
    const all = { ...base, ...fields };
    const line = options.json
      ? JSON.stringify({ time: new Date().toISOString(), level, message, ...all })
      : `${level.toUpperCase().padEnd(5)} ${message}${Object.keys(all).length ? ` ${JSON.stringify(all)}` : ''}`;
    sink(level, redact(line));
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

/** A logger that keeps lines in memory; tests read them to prove no secret was logged. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({ sink: (_l, line) => lines.push(line), json: true, level: 'debug' });
  return Object.assign(logger, { lines });
}
