import { randomBytes } from 'node:crypto';
import { chown, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { securityAudit, SERVICE_NAMES, type ManagedSecret, type ServerLogEntry } from '../../src/jobs/security-audit/index.js';
import { csvLogSource } from '../../src/jobs/security-audit/csvlog-source.js';
import { readServerCertificate } from '../../src/jobs/security-audit/certificate.js';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/platform/db/embedded.js';
import { migrate } from '../../src/platform/db/migrate.js';
import { ident, literal } from '../../src/platform/db/sql.js';
import { registerJob, type JobReport, type JobServices } from '../../src/shared/job.js';
import { memoryLogger } from '../../src/platform/log.js';
import { runJob } from '../../src/shared/runner/run-job.js';
import type { Env } from '../../src/platform/settings.js';
import { testDeps, testPgMajor, type TestDatabase } from '../support/db.js';

const job = registerJob(securityAudit);
const PLAN_PREFIX = '%t [%p]: user=%u,db=%d,app=%a,client=%h ';
const DAY = 86_400_000;
const hex = () => randomBytes(4).toString('hex');

/**
 * One PostgreSQL of this file's own, because the shared test server logs to stderr without
 * TLS: here csvlog with the plan's log settings, and TLS with a certificate made by the test.
 */
let server: EmbeddedServer;
let db: TestDatabase;
let logDir: string;
let tlsDir: string;
let serverOwner: { uid: number; gid: number };

async function installCertificate(daysValid: number): Promise<void> {
  const notBeforeDate = new Date(Date.now() - DAY);
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(Date.now() + daysValid * DAY),
  });
  const cert = join(tlsDir, `server-${daysValid}.crt`);
  const key = join(tlsDir, `server-${daysValid}.key`);
  await writeFile(cert, pems.cert);
  // PostgreSQL refuses a key file others can read, and it runs as the data folder's owner.
  await writeFile(key, pems.private, { mode: 0o600 });
  await chown(key, serverOwner.uid, serverOwner.gid);
  await db.pool.query(`ALTER SYSTEM SET ssl_cert_file = ${literal(cert)}`);
  await db.pool.query(`ALTER SYSTEM SET ssl_key_file = ${literal(key)}`);
  await db.pool.query(`ALTER SYSTEM SET ssl = on`);
  await db.pool.query(`ALTER SYSTEM SET ssl_min_protocol_version = 'TLSv1.3'`);
  await db.pool.query('SELECT pg_reload_conf()');
  // The reload is asynchronous: wait until the server hands out this certificate.
  const want = Date.now() + daysValid * DAY;
  for (let i = 0; i < 100; i++) {
    const probe = await readServerCertificate('127.0.0.1', server.port).catch(() => undefined);
    if (probe?.ssl && Math.abs(probe.certificate.validTo.getTime() - want) < DAY) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the server did not pick up the new certificate');
}

/** The syslogger writes asynchronously: wait until the log shows what the test just did. */
async function waitForLog(predicate: (e: ServerLogEntry) => boolean, count = 1): Promise<void> {
  const source = csvLogSource(logDir);
  for (let i = 0; i < 100; i++) {
    let seen = 0;
    for await (const e of source.entries({ start: new Date(Date.now() - 3_600_000), end: new Date(Date.now() + 60_000) })) if (predicate(e)) seen++;
    if (seen >= count) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('expected lines did not reach the server log');
}

async function failLogins(role: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    const client = new pg.Client({ host: '127.0.0.1', port: server.port, database: db.name, user: role, password: `wrong-${hex()}` });
    await expect(client.connect()).rejects.toThrow(/password authentication failed/);
    await client.end().catch(() => undefined);
  }
  await waitForLog((e) => e.sqlstate === '28P01' && e.user === role, times);
}

async function createLoginRole(prefix: string): Promise<{ name: string; password: string }> {
  const name = `${prefix}_${hex()}`;
  const password = `Pw-${randomBytes(12).toString('hex')}`;
  await db.pool.query(`CREATE ROLE ${ident(name)} LOGIN PASSWORD ${literal(password)}`);
  return { name, password };
}

function run(params: Record<string, unknown>, options: { env?: Env; services?: JobServices; now?: () => Date; dryRun?: boolean } = {}) {
  const log = memoryLogger();
  const deps = testDeps(db, { env: { DBOPS_SERVER_LOG_PATH: logDir, ...options.env }, services: options.services ?? {}, log, ...(options.now ? { now: options.now } : {}) });
  return runJob(job, params, deps, { trigger: 'test', dryRun: options.dryRun ?? false }).then((report) => ({ report, log }));
}

const checks = (report: JobReport, prefix: string) => report.findings.filter((f) => f.check.startsWith(prefix));

describe('security-audit against a real server (csvlog, TLS)', () => {
  beforeAll(async () => {
    server = await startEmbeddedPostgres({
      major: testPgMajor(),
      settings: {
        logging_collector: 'on',
        log_destination: 'csvlog',
        log_directory: 'log',
        log_filename: 'postgresql-%Y-%m-%d_%H%M%S.log',
        log_connections: 'on',
        log_disconnections: 'on',
        log_statement: 'all',
        log_line_prefix: PLAN_PREFIX,
        log_timezone: 'UTC',
      },
    });
    logDir = join(server.dataDir, 'data', 'log');
    tlsDir = join(server.dataDir, 'tls');
    await mkdir(tlsDir, { mode: 0o755 });
    const owner = await stat(join(server.dataDir, 'data'));
    serverOwner = { uid: owner.uid, gid: owner.gid };
    const name = `sa_${hex()}`;
    const admin = new pg.Client({ connectionString: server.url() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${ident(name)}`);
    await admin.end();
    const url = server.url(name);
    await migrate({ kind: 'url', url }, memoryLogger());
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    pool.on('error', () => undefined);
    db = { name, url, target: { kind: 'url', url }, pool, drop: async () => undefined };
    await installCertificate(10);
  });
  afterAll(async () => {
    await db?.pool.end();
    await server?.stop();
  });

  it('reports no drift and nothing wrong on a clean install', async () => {
    const { report } = await run({ hours: 1 });
    expect(checks(report, 'privilege.')).toEqual([]);
    expect(report.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    expect(report.status).toBe('ok');
    // The migration's GRANTs are in the log: history, not drift.
    expect(checks(report, 'permissions.changed').length).toBeGreaterThan(0);
  });

  it('names role and client after six failed logins, and never locks an application role', async () => {
    await failLogins('product_change_app', 6);
    const { report } = await run({ hours: 1 }, { env: { DBOPS_SECURITY_PERSONAL_ROLES: 'product_change_app' } });
    const finding = report.findings.find((f) => f.check === 'login.failed' && f.target === 'product_change_app');
    expect(finding).toMatchObject({ severity: 'warning', value: 6, threshold: 5, details: { clients: ['127.0.0.1'] } });
    expect(String(finding?.details?.lockout)).toMatch(/application roles are never locked/);
    expect(report.findings).toContainEqual(expect.objectContaining({ check: 'lockout.misconfigured', target: 'product_change_app' }));
    expect(report.actions).toEqual([]);
    const { rows } = await db.pool.query('SELECT rolcanlogin FROM pg_roles WHERE rolname = $1', ['product_change_app']);
    expect(rows[0].rolcanlogin).toBe(true);
  });

  it('locks an opted-in personal role (planned in a dry run) and lifts the lock after the period', async () => {
    const person = await createLoginRole('sa_person');
    await failLogins(person.name, 5);
    const env = { DBOPS_SECURITY_PERSONAL_ROLES: person.name };
    const canLogin = async () => (await db.pool.query('SELECT rolcanlogin FROM pg_roles WHERE rolname = $1', [person.name])).rows[0].rolcanlogin as boolean;

    const dry = await run({ hours: 1 }, { env, dryRun: true });
    expect(dry.report.actions).toContainEqual(expect.objectContaining({ status: 'planned', statement: `ALTER ROLE "${person.name}" NOLOGIN` }));
    expect(await canLogin()).toBe(true);

    const locked = await run({ hours: 1 }, { env });
    expect(locked.report.actions).toContainEqual(expect.objectContaining({ status: 'done', statement: `ALTER ROLE "${person.name}" NOLOGIN` }));
    expect(locked.report.findings).toContainEqual(expect.objectContaining({ check: 'login.locked', target: person.name }));
    expect(await canLogin()).toBe(false);
    const { rows: recorded } = await db.pool.query('SELECT failures, client_addresses, lifted_at FROM ops.security_lockout WHERE role_name = $1', [person.name]);
    expect(recorded).toEqual([{ failures: 5, client_addresses: ['127.0.0.1'], lifted_at: null }]);

    // Within the period nothing is lifted; once it is over, the next run lifts it.
    const early = await run({ hours: 1 }, { env, now: () => new Date(Date.now() + 10 * 60_000) });
    expect(early.report.actions.filter((a) => a.statement?.endsWith(' LOGIN'))).toEqual([]);
    const later = await run({ hours: 1 }, { env, now: () => new Date(Date.now() + 31 * 60_000) });
    expect(later.report.actions).toContainEqual(expect.objectContaining({ status: 'done', statement: `ALTER ROLE "${person.name}" LOGIN` }));
    expect(await canLogin()).toBe(true);
    const client = new pg.Client({ host: '127.0.0.1', port: server.port, database: db.name, user: person.name, password: person.password });
    await client.connect();
    await client.end();
  });

  it('names every privilege difference with the statement that undoes it, and those statements restore a clean state', async () => {
    const reader = `sa_reader_${hex()}`;
    await db.pool.query(`CREATE ROLE ${ident(reader)} NOLOGIN`);
    await db.pool.query('GRANT DELETE ON product_change.pc_product_change_history TO product_change_app');
    await db.pool.query(`GRANT SELECT ON product_change.pc_product_change_history TO ${ident(reader)}`);
    await db.pool.query('GRANT SELECT ON product_change.pc_circuit_breaker_state TO PUBLIC');
    await db.pool.query('REVOKE INSERT ON product_change.pc_kos_integration_log FROM product_change_app');
    await db.pool.query(`GRANT product_change_admin TO ${ident(reader)}`);
    await waitForLog((e) => e.message.includes(`GRANT product_change_admin TO ${ident(reader)}`));

    const { report } = await run({ hours: 1 });
    const remedies = checks(report, 'privilege.').map((f) => f.remedy);
    expect(remedies).toEqual(
      expect.arrayContaining([
        'REVOKE DELETE ON TABLE "product_change"."pc_product_change_history" FROM "product_change_app"',
        `REVOKE SELECT ON TABLE "product_change"."pc_product_change_history" FROM "${reader}"`,
        'REVOKE SELECT ON TABLE "product_change"."pc_circuit_breaker_state" FROM PUBLIC',
        'GRANT INSERT ON TABLE "product_change"."pc_kos_integration_log" TO "product_change_app"',
        `REVOKE "product_change_admin" FROM "${reader}"`,
      ]),
    );
    expect(remedies).toHaveLength(5);
    expect(report.status).toBe('critical');
    // Nothing was applied, and the history says who changed what from where.
    const { rows } = await db.pool.query("SELECT has_table_privilege('product_change_app', 'product_change.pc_product_change_history', 'DELETE') AS d");
    expect(rows[0].d).toBe(true);
    expect(report.findings).toContainEqual(
      expect.objectContaining({ check: 'permissions.changed', target: 'postgres', message: expect.stringMatching(/GRANT DELETE ON product_change\.pc_product_change_history TO product_change_app .* from 127\.0\.0\.1/) }),
    );

    // The lockout of the previous test is in the history too, under dbops's application name.
    expect(report.findings).toContainEqual(
      expect.objectContaining({ check: 'permissions.changed', details: expect.objectContaining({ application: 'dbops:security-audit', statement: expect.stringMatching(/NOLOGIN$/) }) }),
    );

    for (const remedy of remedies) await db.pool.query(remedy!);
    const after = await run({ hours: 1 });
    expect(checks(after.report, 'privilege.')).toEqual([]);
    await db.pool.query(`DROP ROLE ${ident(reader)}`);
  });

  it('redacts passwords and SCRAM verifiers from ALTER ROLE lines before they reach the report', async () => {
    const person = await createLoginRole('sa_pw');
    const secret = `Secret-${randomBytes(10).toString('hex')}`;
    // PostgreSQL's regression-suite verifier (empty password), so no real secret is written here.
    const verifier = 'SCRAM-SHA-256$4096:hpFyHTUsSWcR7O9P$LgZFIt6Oqdo27ZFKbZ2nV+vtnYM995pDh9ca6WSi120=:qVV5NeluNfUPkwm7Vqat25RjSPLkGeoZBQs6wVv+um4=';
    await db.pool.query(`ALTER ROLE ${ident(person.name)} PASSWORD ${literal(secret)}`);
    await db.pool.query(`ALTER ROLE ${ident(person.name)} PASSWORD ${literal(verifier)}`);
    await waitForLog((e) => e.message.includes(person.name) && e.message.includes('SCRAM-SHA-256$4096'));

    const { report, log } = await run({ hours: 1 });
    const lines = checks(report, 'permissions.changed').filter((f) => f.message.includes(`ALTER ROLE ${ident(person.name)} PASSWORD`));
    expect(lines).toHaveLength(2);
    for (const f of lines) expect(f.message).toContain("PASSWORD '[redacted]'");
    const stored = await db.pool.query('SELECT report::text AS r FROM ops.job_run WHERE id = $1', [report.runId]);
    for (const text of [JSON.stringify(report), log.lines.join('\n'), stored.rows[0].r as string]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(person.password);
      expect(text).not.toContain('LgZFIt6Oqdo27ZFKbZ2nV');
    }
  });

  it('continues from where the previous run stopped', async () => {
    const first = await run({});
    const second = await run({});
    const w1 = (first.report.data.serverLog as { window: { start: string; end: string } }).window;
    const w2 = (second.report.data.serverLog as { window: { start: string; end: string } }).window;
    expect(w2.start).toBe(w1.end);
    // The failed logins of earlier tests were in the first window only.
    expect(checks(second.report, 'login.failed')).toEqual([]);
  });

  it('weekly: warns of a certificate expiring in 10 days, and stops once it is replaced', async () => {
    const { report } = await run({ mode: 'weekly' });
    const cert = report.findings.find((f) => f.check === 'tls.certificate-expiry');
    expect(cert).toMatchObject({ severity: 'warning', threshold: 30, unit: 'days' });
    expect([9, 10]).toContain(cert?.value);
    expect(checks(report, 'tls.min-protocol')).toEqual([]);
    expect(checks(report, 'secrets.')).toEqual([expect.objectContaining({ check: 'secrets.not-configured', severity: 'info' })]);

    await installCertificate(400);
    const renewed = await run({ mode: 'weekly' });
    expect(checks(renewed.report, 'tls.')).toEqual([]);
    expect(renewed.report.data.certificate).toMatchObject({ trusted: false });
  });

  it('weekly: reviews Key Vault secrets of the login roles', async () => {
    const now = Date.now();
    const secrets: ManagedSecret[] = [
      { name: 'pg-product-change-app', role: 'product_change_app', createdOn: new Date(now - 100 * DAY), expiresOn: new Date(now + 60 * DAY), enabled: true },
      { name: 'pg-product-change-readonly', role: 'product_change_readonly', createdOn: new Date(now - 5 * DAY), expiresOn: new Date(now + 10 * DAY), enabled: true },
      { name: 'pg-product-change-admin-old', role: 'product_change_admin', createdOn: new Date(now - 5 * DAY), expiresOn: null, enabled: false },
    ];
    const services = { [SERVICE_NAMES.secretInventory]: { list: async () => secrets } };
    const { report } = await run({ mode: 'weekly' }, { services });
    expect(report.findings).toContainEqual(expect.objectContaining({ check: 'secrets.too-old', target: 'pg-product-change-app (product_change_app)', value: 100 }));
    expect(report.findings).toContainEqual(expect.objectContaining({ check: 'secrets.expiring', target: 'pg-product-change-readonly (product_change_readonly)' }));
    expect(report.findings).toContainEqual(expect.objectContaining({ check: 'secrets.missing', target: 'product_change_admin' }));
    // The superuser dbops signs in as here has no managed password, and needs none.
    expect(report.findings.some((f) => f.check === 'secrets.missing' && f.target === 'postgres')).toBe(false);
  });

  it('weekly: a minimum TLS version below the plan is a warning', async () => {
    await db.pool.query(`ALTER SYSTEM SET ssl_min_protocol_version = 'TLSv1.2'`);
    await db.pool.query('SELECT pg_reload_conf()');
    try {
      let report: JobReport | undefined;
      for (let i = 0; i < 50 && !report?.findings.some((f) => f.check === 'tls.min-protocol'); i++) {
        if (i) await new Promise((r) => setTimeout(r, 100));
        report = (await run({ mode: 'weekly' })).report;
      }
      expect(report?.findings).toContainEqual(expect.objectContaining({ check: 'tls.min-protocol', value: 'TLSv1.2', threshold: 'TLSv1.3' }));
    } finally {
      await db.pool.query(`ALTER SYSTEM SET ssl_min_protocol_version = 'TLSv1.3'`);
      await db.pool.query('SELECT pg_reload_conf()');
    }
  });
});

describe('security-audit with a log source from services', () => {
  let localDb: TestDatabase;
  beforeAll(async () => {
    const { createTestDatabase } = await import('../support/db.js');
    localDb = await createTestDatabase({ prefix: 'sa_svc' });
  });
  afterAll(() => localDb?.drop());

  const entry = (over: Partial<ServerLogEntry> & { message: string; time: Date }): ServerLogEntry => ({
    user: null,
    database: null,
    clientAddress: null,
    application: null,
    severity: 'LOG',
    sqlstate: null,
    ...over,
  });

  it('a connection from outside the allowed subnets is critical; a burst above 100 a minute is a warning', async () => {
    const minute = new Date(Date.now() - 10 * 60_000);
    minute.setUTCSeconds(0, 0);
    const rows: ServerLogEntry[] = [
      entry({ time: minute, clientAddress: '203.0.113.7', message: 'connection received: host=203.0.113.7 port=50123' }),
      entry({ time: minute, clientAddress: '203.0.113.7', user: 'product_change_app', database: 'product_change_db', message: 'connection authorized: user=product_change_app database=product_change_db SSL enabled (protocol=TLSv1.3)' }),
      ...Array.from({ length: 120 }, (_, i) =>
        entry({ time: new Date(minute.getTime() + i * 400), clientAddress: '10.0.1.5', message: `connection received: host=10.0.1.5 port=${40000 + i}` }),
      ),
    ];
    const source = {
      id: 'memory:test',
      async *entries(window: { start: Date; end: Date }) {
        for (const r of rows) if (r.time >= window.start && r.time < window.end) yield r;
      },
    };
    const deps = testDeps(localDb, { services: { [SERVICE_NAMES.serverLog]: source } });
    const report = await runJob(job, { hours: 1 }, deps, { trigger: 'test' });
    expect(report.status).toBe('critical');
    expect(report.findings).toContainEqual(
      expect.objectContaining({ check: 'access.outside-subnets', severity: 'critical', target: '203.0.113.7', value: 1, details: expect.objectContaining({ users: ['product_change_app'] }) }),
    );
    expect(report.findings.some((f) => f.check === 'access.outside-subnets' && f.target === '10.0.1.5')).toBe(false);
    expect(report.findings).toContainEqual(expect.objectContaining({ check: 'connections.rate', severity: 'warning', value: 121, threshold: 100 }));
  });

  it('says once that no log source is configured', async () => {
    const report = await runJob(job, {}, testDeps(localDb), { trigger: 'test' });
    expect(report.findings.filter((f) => f.check === 'logs.not-configured')).toHaveLength(1);
  });
});
