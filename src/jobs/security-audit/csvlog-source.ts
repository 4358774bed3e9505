import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { hostOfConnectionFrom, parseLogTime } from './log-entries.js';
import type { LogWindow, ServerLogEntry, ServerLogSource } from '../../shared/security-services.js';

/** Column positions of PostgreSQL's csvlog (the same from 13 to 17 for the ones read here). */
const COL = { time: 0, user: 1, database: 2, connectionFrom: 4, severity: 11, sqlstate: 12, message: 13, application: 22 } as const;

/**
 * RFC 4180 records from a stream of text: quoted fields may hold commas, doubled quotes and
 * newlines (a multi-line statement is one record). A record cut off at the end of the input
 * (the server still writing it) is dropped.
 */
export async function* csvRecords(chunks: AsyncIterable<string | Buffer>): AsyncGenerator<string[]> {
  let field = '';
  let record: string[] = [];
  let inQuotes = false;
  let quotePending = false; // saw a quote inside a quoted field: either "" or the closing quote
  let fieldStarted = false;
  for await (const chunk of chunks) {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (quotePending) {
        quotePending = false;
        if (c === '"') {
          field += '"';
          continue;
        }
        inQuotes = false;
      }
      if (inQuotes) {
        if (c === '"') quotePending = true;
        else field += c;
        continue;
      }
      if (c === '"' && !fieldStarted) {
        inQuotes = true;
        fieldStarted = true;
      } else if (c === ',') {
        record.push(field);
        field = '';
        fieldStarted = false;
      } else if (c === '\n') {
        record.push(field);
        yield record;
        record = [];
        field = '';
        fieldStarted = false;
      } else if (c !== '\r') {
        field += c;
        fieldStarted = true;
      }
    }
  }
  // A last line without its newline is complete only if it is not inside an open quote.
  if (!inQuotes && (fieldStarted || record.length > 0)) {
    record.push(field);
    yield record;
  }
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

const emptyToNull = (v: string | undefined) => (v === undefined || v === '' ? null : v);

export function entryFromCsvRecord(record: string[]): ServerLogEntry | undefined {
  if (record.length <= COL.message) return undefined;
  return {
    time: parseLogTime(record[COL.time] ?? ''),
    user: emptyToNull(record[COL.user]),
    database: emptyToNull(record[COL.database]),
    clientAddress: hostOfConnectionFrom(record[COL.connectionFrom]),
    application: emptyToNull(record[COL.application]),
    severity: record[COL.severity] ?? '',
    sqlstate: emptyToNull(record[COL.sqlstate]),
    message: record[COL.message] ?? '',
  };
}

/**
 * Reads a server's csvlog files (log_destination = 'csvlog', logging_collector = on). `path` is
 * the log folder, whose files matching `pattern` are all read when they were written to during
 * the window (rotation by age or size), or one file.
 */
export function csvLogSource(path: string, pattern = '*.csv'): ServerLogSource {
  const matcher = globToRegExp(pattern);
  async function files(window: LogWindow): Promise<string[]> {
    const info = await stat(path);
    if (info.isFile()) return [path];
    const names = (await readdir(path)).filter((n) => matcher.test(n)).sort();
    const out: string[] = [];
    for (const name of names) {
      const file = join(path, name);
      const s = await stat(file).catch(() => undefined);
      // A file last written before the window starts holds nothing in it.
      if (s?.isFile() && s.mtime.getTime() >= window.start.getTime()) out.push(file);
    }
    return out;
  }
  return {
    id: `csvlog:${path}`,
    async *entries(window, signal) {
      for (const file of await files(window)) {
        signal?.throwIfAborted();
        for await (const record of csvRecords(createReadStream(file, { encoding: 'utf8' }))) {
          const entry = entryFromCsvRecord(record);
          if (!entry) continue;
          const t = entry.time.getTime();
          if (t >= window.start.getTime() && t < window.end.getTime()) yield entry;
        }
      }
    },
  };
}

