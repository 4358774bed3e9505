import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob, registerJob } from '../src/shared/job.js';
import { memoryLogger } from '../src/platform/log.js';
import { registerSecret } from '../src/platform/redact.js';
import { runJob } from '../src/shared/runner/run-job.js';
import { gate } from './support/gate.js';
import { createTestDatabase, testDeps, type TestDatabase } from './support/db.js';


describe('runner', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('lets one of two concurrent runs hold the job; the other reports skipped', async () => {
    const entered = gate();
    const release = gate();
    const slow = registerJob(
      defineJob({
        name: 'slow-test-job',
        title: 'slow',
        description: 'waits',
        schedules: [],
        params: z.object({}),
        async run() {
          entered.open();
          await release.opened;
          return { summary: 'done' };
        },
      }),
    );
    const first = runJob(slow, {}, testDeps(db), { trigger: 'test' });
    await entered.opened;
    const second = await runJob(slow, {}, testDeps(db), { trigger: 'test' });
    release.open();
    const firstReport = await first;
    expect(firstReport.status).toBe('ok');
    expect(second.status).toBe('skipped');
    expect(second.summary).toMatch(/already running/);
    const { rows } = await db.pool.query(`SELECT status FROM ops.job_run WHERE job = 'slow-test-job' ORDER BY id`);
    expect(rows.map((r) => r.status).sort()).toEqual(['ok', 'skipped']);
  });

  it('sets the job session bounds and names the job in application_name', async () => {
    const probe = registerJob(
      defineJob({
        name: 'probe-session',
        title: 'probe',
        description: 'reads its own session settings',
        schedules: [],
        params: z.object({}),
        async run(ctx) {
          const { rows } = await ctx.db.query<{ app: string; lock: string; stmt: string; tz: string }>(
            `SELECT current_setting('application_name') AS app, current_setting('lock_timeout') AS lock,
                    current_setting('statement_timeout') AS stmt, current_setting('TimeZone') AS tz`,
          );
          return { summary: 'probed', data: { ...rows[0] } };
        },
      }),
    );
    const report = await runJob(probe, {}, testDeps(db, { env: { DBOPS_LOCK_TIMEOUT_MS: '1500', DBOPS_STATEMENT_TIMEOUT_MS: '30000' } }), { trigger: 'test' });
    expect(report.data).toEqual({ app: 'dbops:probe-session', lock: '1500ms', stmt: '30s', tz: 'UTC' });
  });

  it('marks a run left running by a crashed process abandoned', async () => {
    await db.pool.query(`INSERT INTO ops.job_run (job, trigger, status, started_at) VALUES ('crashy', 'timer', 'running', now() - interval '1 hour')`);
    const crashy = registerJob(
      defineJob({ name: 'crashy', title: 'c', description: 'c', schedules: [], params: z.object({}), run: async () => ({ summary: 'fine now' }) }),
    );
    const report = await runJob(crashy, {}, testDeps(db), { trigger: 'test' });
    expect(report.status).toBe('ok');
    const { rows } = await db.pool.query(`SELECT status, finished_at IS NOT NULL AS finished FROM ops.job_run WHERE job = 'crashy' ORDER BY id`);
    expect(rows).toEqual([
      { status: 'abandoned', finished: true },
      { status: 'ok', finished: true },
    ]);
  });

  it('turns an exception into a failed report with no secret in it, its record or the log', async () => {
    const secret = 'Sup3r-s3cret-value-x9';
    registerSecret(secret);
    const log = memoryLogger();
    const leaky = registerJob(
      defineJob({
        name: 'leaky',
        title: 'l',
        description: 'throws secrets',
        schedules: [],
        params: z.object({}),
        async run(ctx) {
          ctx.log.info(`connecting with ${secret}`);
          throw new Error(`login failed for postgres://app:hunter2-pass@db:5432/x; ALTER ROLE app PASSWORD 'plain-pw-123'; token=${secret}`);
        },
      }),
    );
    const report = await runJob(leaky, {}, testDeps(db, { log }), { trigger: 'test' });
    expect(report.status).toBe('failed');
    expect(report.summary).toMatch(/leaky failed: login failed/);
    const stored = await db.pool.query(`SELECT report::text AS r, summary FROM ops.job_run WHERE id = $1`, [report.runId]);
    for (const text of [JSON.stringify(report), stored.rows[0].r, stored.rows[0].summary, log.lines.join('\n')]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain('hunter2-pass');
      expect(text).not.toContain('plain-pw-123');
    }
    expect(log.lines.length).toBeGreaterThan(0);
  });

  it('reports an unreachable database as failed without throwing', async () => {
    const deps = testDeps(db);
    const report = await runJob(
      registerJob(defineJob({ name: 'x', title: 'x', description: 'x', schedules: [], params: z.object({}), run: async () => ({ summary: 'x' }) })),
      {},
      { ...deps, target: { kind: 'url', url: 'postgres://nobody:pw-not-shown@127.0.0.1:1/none' }, settings: { ...deps.settings, connectTimeoutSeconds: 2 } },
      { trigger: 'test' },
    );
    expect(report.status).toBe('failed');
    expect(report.summary).toMatch(/Cannot connect to 127\.0\.0\.1:1\/none/);
    expect(JSON.stringify(report)).not.toContain('pw-not-shown');
  });

  it('derives status from the worst finding', async () => {
    const finder = registerJob(
      defineJob({
        name: 'finder',
        title: 'f',
        description: 'f',
        schedules: [],
        params: z.object({ level: z.enum(['info', 'warning', 'critical']) }),
        run: async (_ctx, p) => ({ summary: 's', findings: [{ check: 'c', severity: p.level, message: 'm' }] }),
      }),
    );
    const statuses = [];
    for (const level of ['info', 'warning', 'critical']) statuses.push((await runJob(finder, { level }, testDeps(db), { trigger: 'test' })).status);
    expect(statuses).toEqual(['ok', 'warning', 'critical']);
    await expect(runJob(finder, { level: 'loud' }, testDeps(db), { trigger: 'test' })).rejects.toThrow(/level/);
  });
});
