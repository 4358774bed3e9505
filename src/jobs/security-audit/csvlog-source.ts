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

/** The time of a file's first complete record: when the server started writing it. */
async function firstEntryTime(file: string): Promise<Date | undefined> {
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 16 * 1024 });
  try {
    for await (const record of csvRecords(stream)) {
      const entry = entryFromCsvRecord(record);
      if (entry && !Number.isNaN(entry.time.getTime())) return entry.time;
    }
    return undefined;
  } finally {
    stream.destroy();
  }
}

/**
 * Reads a server's csvlog files (log_destination = 'csvlog', logging_collector = on). `path` is
 * the log folder, whose files matching `pattern` are read when they can hold lines of the window
 * (rotation by age or size), or one file.
 *
 * Which files can is judged by the log's own timestamps: a file holds the lines from its first
 * one to the next file's first one. File modification times would mix in a second clock (the
 * file system's, which a copied or mounted log folder does not keep) with the server's.
 */
export function csvLogSource(path: string, pattern = '*.csv'): ServerLogSource {
  return {
    id: `csvlog:${path}`,
    async *entries(window, signal) {
      for (const file of await csvLogFiles(path, pattern, window)) {
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

/** The files of a csvlog folder (or the one file) that can hold lines of the window, oldest first. */
export async function csvLogFiles(path: string, pattern: string, window: LogWindow): Promise<string[]> {
  const matcher = globToRegExp(pattern);
  const info = await stat(path);
  if (info.isFile()) return [path];
  const names = (await readdir(path)).filter((n) => matcher.test(n));
  const started: { file: string; first: Date | undefined }[] = [];
  for (const name of names) {
    const file = join(path, name);
    const s = await stat(file).catch(() => undefined);
    if (s?.isFile()) started.push({ file, first: await firstEntryTime(file).catch(() => undefined) });
  }
  // A file with no complete line yet is the newest one: it goes last.
  started.sort((a, b) => (a.first?.getTime() ?? Infinity) - (b.first?.getTime() ?? Infinity) || a.file.localeCompare(b.file));
  return started
    .filter(({ first }, i) => {
      const next = started[i + 1]?.first;
      const startsBeforeEnd = first === undefined || first.getTime() < window.end.getTime();
      const endsAfterStart = next === undefined || next.getTime() > window.start.getTime();
      return startsBeforeEnd && endsAfterStart;
    })
    .map(({ file }) => file);
}
