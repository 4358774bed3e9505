import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { csvLogFiles, csvLogSource, csvRecords, entryFromCsvRecord } from '../../src/jobs/security-audit/csvlog-source.js';
import { SERVER_LOG_KQL, entryFromLogAnalyticsRow, logAnalyticsSource, serverLogQuery } from '../../src/jobs/security-audit/log-analytics.js';
import { addressMatcher, auditServerLog, densest } from '../../src/jobs/security-audit/log-checks.js';
import { classifyEntry, hostOfConnectionFrom, isPrivilegeStatement, parseLogTime, parsePlanPrefix } from '../../src/jobs/security-audit/log-entries.js';
import { securityServices } from '../../src/shared/security-services.js';
import { securityAuditSettings } from '../../src/jobs/security-audit/settings.js';
import { SettingsError, readSettings } from '../../src/platform/settings.js';
import type { ServerLogEntry } from '../../src/shared/security-services.js';

async function* chunks(text: string, size: number) {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}
const collect = async <T>(it: AsyncIterable<T>) => {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
};
const entry = (message: string, over: Partial<ServerLogEntry> = {}): ServerLogEntry => ({
  time: new Date('2025-01-01T00:00:00Z'),
  user: null,
  database: null,
  clientAddress: null,
  application: null,
  severity: 'LOG',
  sqlstate: null,
  message,
  ...over,
});

describe('csvlog reading', () => {
  const csv =
    '2025-01-01 10:00:00.123 UTC,"postgres","db",123,"127.0.0.1:50000",abc.1,3,"idle",2025-01-01 09:59:59 UTC,3/4,0,LOG,00000,"statement: SELECT ""a,b""\nFROM t",,,,,,,,,"psql","client backend",,0\n' +
    '2025-01-01 10:00:01.000 UTC,"app","db",124,"::1:50001",abc.2,1,"authentication",2025-01-01 10:00:01 UTC,4/1,0,FATAL,28P01,"password authentication failed for user ""app""","Connection matched pg_hba.conf line 1",,,,,,,,,"","client backend",,0\n' +
    '2025-01-01 10:00:02.000 UTC,"app","db",125,"127.0.0.1:50002",abc.3,1,"","",,,LOG,00000,"unfinished';
  it('parses quoted fields with commas, doubled quotes and newlines, across any chunk boundary, and drops a cut-off last record', async () => {
    for (const size of [1, 7, 64, 10_000]) {
      const records = await collect(csvRecords(chunks(csv, size)));
      expect(records).toHaveLength(2);
      expect(records[0]?.[13]).toBe('statement: SELECT "a,b"\nFROM t');
      expect(records[1]?.[13]).toBe('password authentication failed for user "app"');
    }
  });
  it('maps csvlog columns to an entry', async () => {
    const [first, second] = await collect(csvRecords(chunks(csv, 100)));
    expect(entryFromCsvRecord(first!)).toEqual({
      time: new Date('2025-01-01T10:00:00.123Z'),
      user: 'postgres',
      database: 'db',
      clientAddress: '127.0.0.1',
      application: 'psql',
      severity: 'LOG',
      sqlstate: '00000',
      message: 'statement: SELECT "a,b"\nFROM t',
    });
    expect(entryFromCsvRecord(second!)).toMatchObject({ clientAddress: '::1', severity: 'FATAL', sqlstate: '28P01', application: null });
  });
  it("picks the files of a window by the log's own timestamps, whatever the files' modification times say", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dbops-csvlog-'));
    try {
      const line = (at: string, message: string) => `${at} UTC,"app","db",1,"127.0.0.1:5000",a.1,1,"idle",${at} UTC,1/1,0,LOG,00000,"${message}",,,,,,,,,"psql","client backend",,0\n`;
      await writeFile(join(dir, 'a.csv'), line('2025-01-01 00:00:00.000', 'one') + line('2025-01-01 05:00:00.000', 'two'));
      await writeFile(join(dir, 'b.csv'), line('2025-01-01 10:00:00.000', 'three') + line('2025-01-01 11:00:00.000', 'four'));
      await writeFile(join(dir, 'c.csv'), line('2025-01-01 20:00:00.000', 'five'));
      await writeFile(join(dir, 'd.csv'), '');
      // Copied or mounted folders do not keep the server's times: every file looks ancient here.
      for (const f of ['a.csv', 'b.csv', 'c.csv', 'd.csv']) await utimes(join(dir, f), new Date('2000-01-01Z'), new Date('2000-01-01Z'));
      const source = csvLogSource(dir);
      const read = async (start: string, end: string) => (await collect(source.entries({ start: new Date(start), end: new Date(end) }))).map((e) => e.message);
      expect(await read('2025-01-01T04:00:00Z', '2025-01-01T10:30:00Z')).toEqual(['two', 'three']);
      expect(await read('2025-01-01T10:30:00Z', '2025-01-02T00:00:00Z')).toEqual(['four', 'five']);
      expect(await read('2024-12-31T00:00:00Z', '2024-12-31T12:00:00Z')).toEqual([]);
      // d.csv has no complete line yet: the file the server has just started is always read.
      const files = async (start: string, end: string) => (await csvLogFiles(dir, '*.csv', { start: new Date(start), end: new Date(end) })).map((f) => f.slice(dir.length + 1));
      expect(await files('2025-01-01T04:00:00Z', '2025-01-01T10:30:00Z')).toEqual(['a.csv', 'b.csv', 'd.csv']);
      expect(await files('2025-01-01T21:00:00Z', '2025-01-02T00:00:00Z')).toEqual(['c.csv', 'd.csv']);
      expect(await files('2024-12-31T00:00:00Z', '2024-12-31T12:00:00Z')).toEqual(['d.csv']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  it('reads times in UTC or with an offset, and refuses ambiguous zone names', () => {
    expect(parseLogTime('2025-01-01 09:00:00.5 +09')).toEqual(new Date('2025-01-01T00:00:00.500Z'));
    expect(parseLogTime('2025-01-01 09:00:00 GMT')).toEqual(new Date('2025-01-01T09:00:00Z'));
    expect(() => parseLogTime('2025-01-01 09:00:00 KST')).toThrow(/log_timezone = 'UTC'/);
  });
  it('takes the host from connection_from', () => {
    expect(hostOfConnectionFrom('10.0.1.5:5432')).toBe('10.0.1.5');
    expect(hostOfConnectionFrom('[local]')).toBeNull();
    expect(hostOfConnectionFrom('app-host.internal:1234')).toBe('app-host.internal');
  });
});

describe('classification and redaction', () => {
  it('redacts ALTER/CREATE ROLE passwords and SCRAM verifiers before classifying', () => {
    const alter = classifyEntry(entry(`statement: ALTER ROLE bob PASSWORD 'hunter2-secret'`));
    expect(alter.kind).toBe('privilege-statement');
    expect(alter.statement).toBe(`ALTER ROLE bob PASSWORD '[redacted]'`);
    expect(JSON.stringify(alter)).not.toContain('hunter2');
    const create = classifyEntry(entry(`execute <unnamed>: CREATE ROLE eve LOGIN ENCRYPTED PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy'`));
    expect(create.kind).toBe('privilege-statement');
    expect(create.message).not.toContain('c3RvcmVk');
  });
  it('finds privilege statements after comments, semicolons and inside DO blocks, and not in ordinary SQL', () => {
    expect(isPrivilegeStatement('-- Up Migration\nCREATE TABLE x (a int);\n-- app\nGRANT SELECT ON x TO app')).toBe(true);
    expect(isPrivilegeStatement("DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO app', current_database()); END $$")).toBe(true);
    expect(isPrivilegeStatement('revoke all on t from public')).toBe(true);
    expect(isPrivilegeStatement('ALTER DEFAULT PRIVILEGES IN SCHEMA s GRANT SELECT ON TABLES TO r')).toBe(true);
    expect(isPrivilegeStatement("SELECT grantee FROM information_schema.role_table_grants WHERE privilege_type = 'GRANT'")).toBe(false);
    expect(isPrivilegeStatement('ALTER TABLE t ADD COLUMN role text')).toBe(false);
  });
  it('classifies connections and authentication failures', () => {
    expect(classifyEntry(entry('connection received: host=203.0.113.7 port=5000'))).toMatchObject({ kind: 'connection-received', clientAddress: '203.0.113.7' });
    expect(classifyEntry(entry('connection authorized: user=app database=db application_name=x'))).toMatchObject({ kind: 'connection-authorized', user: 'app', database: 'db' });
    expect(classifyEntry(entry('role "ghost" does not exist', { severity: 'FATAL', sqlstate: '28000' }))).toMatchObject({ kind: 'failed-login', user: 'ghost' });
    expect(classifyEntry(entry('password authentication failed for user "app"', { severity: 'FATAL' }))).toMatchObject({ kind: 'failed-login', user: 'app' });
    expect(classifyEntry(entry('relation "x" does not exist', { severity: 'ERROR', sqlstate: '42P01' })).kind).toBe('other');
  });
});

describe('Log Analytics rows', () => {
  it("reads the plan's log_line_prefix out of Message", () => {
    const row = {
      TimeGenerated: '2025-01-01T10:00:00Z',
      Message: '2025-01-01 10:00:00 UTC [4242]: user=product_change_app,db=product_change_db,app=[unknown],client=203.0.113.7 LOG:  connection authorized: user=product_change_app database=product_change_db',
      ErrorLevel: 'LOG',
      SqlState: '00000',
    };
    expect(entryFromLogAnalyticsRow(row)).toEqual({
      time: new Date('2025-01-01T10:00:00Z'),
      user: 'product_change_app',
      database: 'product_change_db',
      clientAddress: '203.0.113.7',
      application: null,
      severity: 'LOG',
      sqlstate: '00000',
      message: 'connection authorized: user=product_change_app database=product_change_db',
    });
    expect(parsePlanPrefix('no prefix here')).toBeUndefined();
  });
  it('queries PostgreSQLLogs for the window and yields entries', async () => {
    const seen: string[] = [];
    const source = logAnalyticsSource('ws-1', async (kql) => {
      seen.push(kql);
      return [{ TimeGenerated: new Date('2025-01-01T10:00:00Z'), Message: '2025-01-01 10:00:00 UTC-6571-LOG:  connection received: host=10.0.4.9 port=1', ErrorLevel: 'LOG', SqlState: null }];
    });
    const window = { start: new Date('2025-01-01T00:00:00Z'), end: new Date('2025-01-02T00:00:00Z') };
    const entries = await collect(source.entries(window));
    expect(seen[0]).toBe(serverLogQuery(window));
    expect(seen[0]).toContain('todatetime("2025-01-01T00:00:00.000Z")');
    expect(SERVER_LOG_KQL).toMatch(/Category == "PostgreSQLLogs"/);
    expect(classifyEntry(entries[0]!)).toMatchObject({ kind: 'connection-received', clientAddress: '10.0.4.9' });
  });
});

describe('failed-login bursts and addresses', () => {
  it('counts the densest window reaching into the audited one', () => {
    const min = 60_000;
    expect(densest([0, 1, 2, 3, 4].map((m) => m * min), 30 * min, 0).count).toBe(5);
    // Six old failures were reported last time; the one new failure alone is no burst.
    expect(densest([0, 1, 2, 3, 4, 5, 100].map((m) => m * min), 30 * min, 100 * min).count).toBe(1);
    expect(densest([0, 1, 2, 3, 4, 5, 20].map((m) => m * min), 30 * min, 20 * min).count).toBe(7);
  });
  it('matches allowed subnets, loopback only when allowed, and says when a host name cannot be checked', () => {
    const subnets = readSettings(securityAuditSettings, {}).allowedSubnets;
    const allowed = addressMatcher(subnets, true);
    expect(allowed('10.0.1.200')).toBe(true);
    expect(allowed('10.0.2.1')).toBe(false);
    expect(allowed('::ffff:10.0.4.3')).toBe(true);
    expect(allowed('127.0.0.1')).toBe(true);
    expect(addressMatcher(subnets, false)('::1')).toBe(false);
    expect(allowed('app.internal')).toBe('not-an-address');
  });
  it('does not report a burst twice across runs, and reports one reaching into the window', async () => {
    const t = (m: number) => new Date(Date.UTC(2025, 0, 1, 0, m));
    const failures = [0, 1, 2, 3, 4, 5].map((m) => entry('password authentication failed for user "bob"', { time: t(m), severity: 'FATAL', sqlstate: '28P01', user: 'bob', clientAddress: '10.0.1.9' }));
    const source = { id: 'mem', async *entries(w: { start: Date; end: Date }) { for (const e of failures) if (e.time >= w.start && e.time < w.end) yield e; } };
    const options = { failedLoginThreshold: 5, failedLoginWindowMinutes: 30, allowedSubnets: [], allowLoopback: true, connectionRatePerMinute: 100 };
    const straddling = await auditServerLog(source, { ...options, window: { start: t(3), end: t(60) } });
    expect(straddling.bursts).toMatchObject([{ role: 'bob', failures: 6, clients: ['10.0.1.9'], totalInWindow: 3 }]);
    const after = await auditServerLog(source, { ...options, window: { start: t(10), end: t(60) } });
    expect(after.bursts).toEqual([]);
  });
});

describe('settings and services', () => {
  it('says how to write a bad subnet', () => {
    expect(() => readSettings(securityAuditSettings, { DBOPS_ALLOWED_SUBNETS: '10.0.1.0/24,10.0.4/33' })).toThrow(SettingsError);
    expect(() => readSettings(securityAuditSettings, { DBOPS_ALLOWED_SUBNETS: '10.0.1.0/24,10.0.4/33' })).toThrow(/write it as 10\.0\.1\.0\/24/);
  });
  it('has the plan’s defaults', () => {
    const s = readSettings(securityAuditSettings, {});
    expect(s).toMatchObject({ failedLoginThreshold: 5, lockoutMinutes: 30, connectionRatePerMinute: 100, passwordExpiryDays: 90, personalRoles: [] });
    expect(s.allowedSubnets.map((c) => c.text)).toEqual(['10.0.1.0/24', '10.0.4.0/24']);
  });
  it('refuses a wrongly shaped service instead of ignoring it', () => {
    // @ts-expect-error -- a wrongly shaped service, as an untyped caller could pass one
    expect(() => securityServices({ securityServerLogSource: { entries: 1 } })).toThrow(/ServerLogSource/);
    expect(securityServices({})).toEqual({});
  });
});
