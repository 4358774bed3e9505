import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthCheck } from '../../src/jobs/health-check/index.js';
import { registerJob, type JobReport } from '../../src/shared/job.js';
import { runJob } from '../../src/shared/runner/run-job.js';
import type { Env } from '../../src/platform/settings.js';
import { createTestDatabase, statsSettle, testDeps, type TestDatabase } from '../support/db.js';

const job = registerJob(healthCheck);
// A test database has next to no traffic: the plan's TPS floor would warn on every run.
const quiet: Env = { DBOPS_TPS_WARNING_BELOW: '0' };

const problems = (r: JobReport) => r.findings.filter((f) => f.severity !== 'info');

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('health-check (database side)', () => {
  let db: TestDatabase;
  const clients: pg.Client[] = [];
  const client = async (options: pg.ClientConfig = {}) => {
    const c = new pg.Client({ connectionString: db.url, ...options });
    c.on('error', () => undefined);
    await c.connect();
    clients.push(c);
    return c;
  };
  const closeClients = async () => {
    await Promise.all(clients.splice(0).map((c) => c.end().catch(() => undefined)));
  };
  const run = (env: Env = {}, params: Record<string, unknown> = {}, now?: () => Date) =>
    runJob(job, params, testDeps(db, { env: { ...quiet, ...env }, ...(now ? { now } : {}) }), { trigger: 'test' });

  beforeAll(async () => {
    db = await createTestDatabase({ prefix: 'dbops_health' });
    await db.pool.query('CREATE TABLE public.lock_target (id int PRIMARY KEY, n int)');
    await db.pool.query('INSERT INTO public.lock_target VALUES (1, 0), (2, 0)');
  });
  afterAll(async () => {
    await closeClients();
    await db.drop();
  });

  it('is ok on a quiet database, says what it measured and stores a snapshot with values', async () => {
    const report = await run();
    expect(report.summary).not.toMatch(/failed/);
    expect(problems(report)).toEqual([]);
    expect(report.status).toBe('ok');
    expect(report.summary).toMatch(/^Healthy — \d+ connections/);
    expect(report.findings.map((f) => f.check)).toEqual(
      expect.arrayContaining(['connections.total', 'sessions', 'deadlocks', 'wraparound', 'sequences.near-max', 'invalid-indexes', 'replica', 'platform', 'circuit-breaker']),
    );
    // Azure Monitor is not wired here: said once, as a note.
    expect(report.findings.filter((f) => f.check.startsWith('platform'))).toEqual([expect.objectContaining({ check: 'platform', severity: 'info', message: expect.stringMatching(/not configured/) })]);
    const { rows } = await db.pool.query('SELECT * FROM ops.health_snapshot WHERE job_run_id = $1', [report.runId]);
    expect(rows).toHaveLength(1);
    expect(rows[0].mode).toBe('daily');
    expect(rows[0].status).toBe('ok');
    expect(Number(rows[0].connections)).toBeGreaterThan(0);
    expect(Number(rows[0].database_bytes)).toBeGreaterThan(0);
    expect(rows[0].metrics['connections.total']).toBe(rows[0].connections);
    expect(rows[0].counters.transactions).toBeGreaterThan(0);
    expect(report.data['queries']).toBeGreaterThan(5);
  });

  it('names a role at its CONNECTION LIMIT, and the server total above the critical setting', async () => {
    const role = `health_conn_${randomBytes(4).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    await db.pool.query(`CREATE ROLE ${role} LOGIN CONNECTION LIMIT 3 PASSWORD '${password}'`);
    try {
      const url = new URL(db.url);
      url.username = role;
      url.password = password;
      for (let i = 0; i < 3; i++) await client({ connectionString: url.toString() });
      const report = await run({ DBOPS_CONNECTIONS_CRITICAL: '3' });
      expect(report.status).toBe('critical');
      expect(report.findings).toContainEqual(expect.objectContaining({ check: 'connections.role-limit', severity: 'critical', target: role, value: 3, threshold: 3 }));
      expect(report.findings).toContainEqual(expect.objectContaining({ check: 'connections.total', severity: 'critical', threshold: 3 }));
    } finally {
      await closeClients();
      await db.pool.query(`DROP ROLE ${role}`);
    }
  });

  it('reports a session idle in a transaction beyond the threshold, with the statement that ends it', async () => {
    const idle = await client();
    await idle.query('BEGIN');
    await idle.query('SELECT n FROM public.lock_target WHERE id = 1');
    const pid = (await idle.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    try {
      expect(problems(await run())).toEqual([]); // 30 minutes by default
      const report = await run({ DBOPS_IDLE_IN_TRANSACTION_WARNING_SECONDS: '0' });
      expect(report.status).toBe('warning');
      expect(report.findings).toContainEqual(
        expect.objectContaining({ check: 'sessions.idle-in-transaction', severity: 'warning', target: expect.stringContaining(`pid ${pid}`), remedy: `SELECT pg_terminate_backend(${pid})` }),
      );
    } finally {
      await closeClients();
    }
  });

  it('names the session that blocks a waiting one', async () => {
    const blocker = await client({ application_name: 'holder-app' });
    const waiter = await client({ application_name: 'waiter-app' });
    const blockerPid = (await blocker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    await blocker.query('BEGIN');
    await blocker.query('UPDATE public.lock_target SET n = n + 1 WHERE id = 1');
    const waiting = waiter.query('UPDATE public.lock_target SET n = n + 1 WHERE id = 1');
    await until(async () => {
      const { rows } = await db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'waiter-app' AND wait_event_type = 'Lock'`);
      return rows.length > 0;
    }, 'the waiter to wait');
    try {
      const report = await run({ DBOPS_LOCK_WAIT_WARNING_SECONDS: '0' });
      const f = report.findings.find((x) => x.check === 'sessions.lock-wait');
      expect(f).toMatchObject({ severity: 'warning', target: expect.stringContaining('waiter-app'), remedy: expect.stringContaining(`pg_terminate_backend(${blockerPid})`) });
      expect(f?.message).toMatch(new RegExp(`blocked by pid ${blockerPid} \\(\\w+, holder-app\\) idle in transaction: UPDATE public.lock_target`));
      expect(f?.details?.['blockers']).toEqual([expect.objectContaining({ pid: blockerPid, application: 'holder-app' })]);
    } finally {
      await blocker.query('ROLLBACK');
      await waiting;
      await closeClients();
    }
  });

  it('counts a provoked deadlock from pg_stat_database deltas kept in ops', async () => {
    let clock = new Date();
    const now = () => clock;
    await run({}, {}, now); // the baseline snapshot
    const a = await client();
    const b = await client();
    for (const c of [a, b]) await c.query(`SET deadlock_timeout = '50ms'`);
    await a.query('BEGIN');
    await b.query('BEGIN');
    await a.query('UPDATE public.lock_target SET n = n + 1 WHERE id = 1');
    await b.query('UPDATE public.lock_target SET n = n + 1 WHERE id = 2');
    const results = await Promise.allSettled([
      a.query('UPDATE public.lock_target SET n = n + 1 WHERE id = 2'),
      b.query('UPDATE public.lock_target SET n = n + 1 WHERE id = 1'),
    ]);
    expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([expect.stringMatching(/deadlock detected/)]);
    await a.query('ROLLBACK');
    await b.query('ROLLBACK');
    await closeClients();
    await statsSettle();

    clock = new Date(clock.getTime() + 5 * 60_000);
    const atDefault = await run({}, {}, now);
    expect(atDefault.findings).toContainEqual(expect.objectContaining({ check: 'deadlocks', severity: 'info', message: expect.stringMatching(/^1 deadlock since the previous check/) }));
    const { rows } = await db.pool.query('SELECT deadlocks, metrics FROM ops.health_snapshot WHERE job_run_id = $1', [atDefault.runId]);
    expect(Number(rows[0].deadlocks)).toBe(1);
    expect(rows[0].metrics['deadlocks.per-hour']).toBe(1); // one, over less than an hour of history

    clock = new Date(clock.getTime() + 60_000);
    const strict = await run({ DBOPS_DEADLOCKS_PER_HOUR_WARNING: '0' }, {}, now);
    // None since the previous check, but one in the last hour.
    expect(strict.findings).toContainEqual(expect.objectContaining({ check: 'deadlocks', severity: 'warning', value: 1, threshold: 0 }));
  });

  it('warns about a sequence near its maximum and is critical when it is about to run out', async () => {
    await db.pool.query('CREATE SEQUENCE public.small_seq MAXVALUE 100');
    try {
      await db.pool.query(`SELECT setval('public.small_seq', 95)`);
      const warn = await run();
      expect(warn.findings).toContainEqual(
        expect.objectContaining({ check: 'sequences.near-max', severity: 'warning', target: 'public.small_seq', value: 94.95, remedy: expect.stringContaining('ALTER SEQUENCE "public"."small_seq" AS bigint') }),
      );
      await db.pool.query(`SELECT setval('public.small_seq', 100)`);
      expect((await run()).findings).toContainEqual(expect.objectContaining({ check: 'sequences.near-max', severity: 'critical', target: 'public.small_seq' }));
    } finally {
      await db.pool.query('DROP SEQUENCE public.small_seq');
    }
  });

  it('names an invalid index with the statement that rebuilds it', async () => {
    await db.pool.query('CREATE INDEX lock_target_n ON public.lock_target (n)');
    await db.pool.query(`UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'public.lock_target_n'::regclass`);
    try {
      expect((await run()).findings).toContainEqual(
        expect.objectContaining({ check: 'invalid-indexes', severity: 'warning', target: 'public.lock_target_n', remedy: 'REINDEX INDEX CONCURRENTLY "public"."lock_target_n"' }),
      );
    } finally {
      await db.pool.query('DROP INDEX public.lock_target_n');
    }
  });

  it('reports a circuit breaker stuck OPEN', async () => {
    await db.pool.query(`UPDATE product_change.pc_circuit_breaker_state SET state = 'OPEN', failure_count = 7, state_changed_at = now() - interval '10 minutes'`);
    try {
      expect((await run()).findings).toContainEqual(expect.objectContaining({ check: 'circuit-breaker', severity: 'warning', target: 'KOS_SERVICE' }));
    } finally {
      await db.pool.query(`UPDATE product_change.pc_circuit_breaker_state SET state = 'CLOSED', failure_count = 0, state_changed_at = now()`);
    }
  });

  it('turns a check that exceeds its statement_timeout into a finding, and runs the others', async () => {
    const holder = await client();
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE product_change.pc_circuit_breaker_state IN ACCESS EXCLUSIVE MODE');
    try {
      const report = await run({ DBOPS_HEALTH_CHECK_TIMEOUT_MS: '300', DBOPS_LOCK_TIMEOUT_MS: '60000' });
      expect(report.findings).toContainEqual(
        expect.objectContaining({ check: 'circuit-breaker', severity: 'warning', message: expect.stringMatching(/could not run: took longer than its 300 ms statement_timeout/) }),
      );
      expect(report.findings.some((f) => f.check === 'business.pc-success' || f.check === 'wraparound')).toBe(true);
      expect(report.status).toBe('warning');
    } finally {
      await holder.query('ROLLBACK');
      await closeClients();
    }
  });

  it('says the replica URL points at a server not in recovery, without showing its password', async () => {
    const report = await run({ DBOPS_REPLICA_URL: db.url });
    const f = report.findings.find((x) => x.check === 'replica');
    expect(f).toMatchObject({ severity: 'warning', message: expect.stringMatching(/is not in recovery/) });
    const password = decodeURIComponent(new URL(db.url).password);
    expect(JSON.stringify(report)).not.toContain(password);
  });

  it('probe: summary says only what changed; a persisting problem stays in the findings (one open alert), then resolves', async () => {
    await run(); // the full check sets the baseline
    const same = await run({}, { mode: 'probe' });
    expect(same.findings).toEqual([]);
    expect(same.summary).toBe('No change since the previous check: healthy.');
    expect(same.data['changed']).toBe(false);

    await db.pool.query('CREATE SEQUENCE public.probe_seq MAXVALUE 10');
    await db.pool.query(`SELECT setval('public.probe_seq', 10)`);
    const changed = await run({}, { mode: 'probe' });
    expect(changed.status).toBe('critical');
    expect(changed.findings).toEqual([expect.objectContaining({ check: 'sequences.near-max', target: 'public.probe_seq', severity: 'critical' })]);
    expect(changed.summary).toMatch(/^1 change since the previous check \(now critical\) — new: sequence public.probe_seq/);

    const persists = await run({}, { mode: 'probe' });
    // Still reported, so the notifier keeps one open alert instead of sending a false recovery.
    expect(persists.findings).toEqual([expect.objectContaining({ check: 'sequences.near-max', target: 'public.probe_seq', severity: 'critical' })]);
    expect(persists.data['changed']).toBe(false);
    expect(persists.status).toBe('critical'); // still the probe's exit code
    expect(persists.summary).toBe('No change since the previous check: 1 known problem persists (critical).');

    await db.pool.query('DROP SEQUENCE public.probe_seq');
    const resolved = await run({}, { mode: 'probe' });
    expect(resolved.status).toBe('ok');
    expect(resolved.findings).toEqual([expect.objectContaining({ check: 'sequences.near-max', target: 'public.probe_seq', severity: 'info', message: expect.stringMatching(/^resolved: /) })]);
  });

  it('writes nothing in a dry run', async () => {
    const before = (await db.pool.query('SELECT count(*)::int AS n FROM ops.health_snapshot')).rows[0].n;
    const report = await runJob(job, {}, testDeps(db, { env: quiet }), { trigger: 'test', dryRun: true });
    expect(report.data['snapshotId']).toBeNull();
    expect((await db.pool.query('SELECT count(*)::int AS n FROM ops.health_snapshot')).rows[0].n).toBe(before);
  });

  it('rejects an unknown mode with a message that says what to use', async () => {
    await expect(run({}, { mode: 'hourly' })).rejects.toThrow(/expected "daily" \(the full checklist\) or "probe"/);
  });
});
