import functions from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { maintenanceHandler, MAX_BODY_BYTES } from '../src/functions/http-maintenance.js';
import { getRunHandler, listRunsHandler } from '../src/functions/http-runs.js';
import { jobs } from '../src/jobs/index.js';
import { defineJob, registerJob, type RegisteredJob } from '../src/shared/job.js';
import { gate } from './support/gate.js';
import { createTestDatabase, testDeps, type TestDatabase } from './support/db.js';

const { HttpRequest, InvocationContext } = functions;


describe('maintenance API', () => {
  let db: TestDatabase;
  const release = gate();
  const seen: unknown[] = [];
  const longJob = registerJob(
    defineJob({
      name: 'long-test-job',
      title: 'long',
      description: 'waits for the test',
      schedules: [],
      long: true,
      params: z.object({ label: z.string().max(20).default('x') }).strict(),
      async run(_ctx, p) {
        seen.push(p);
        await release.opened;
        return { summary: `done ${p.label}` };
      },
    }),
  );
  const all: RegisteredJob[] = [...jobs, longJob];
  const registry = { find: (n: string) => all.find((j) => j.name === n), names: () => all.map((j) => j.name) };
  const handler = () => maintenanceHandler(() => testDeps(db), registry);
  const post = (job: string, body: string, headers: Record<string, string> = {}) =>
    handler()(new HttpRequest({ method: 'POST', url: `http://localhost/api/maintenance/${encodeURIComponent(job)}`, params: { job }, headers, body: { string: body } }), new InvocationContext());

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('answers 202 with a run id for a long job, 409 while it runs, and the run is readable', async () => {
    const first = await post('long-test-job', JSON.stringify({ params: { label: 'a' } }), { 'x-ms-client-principal-name': 'oncall@example.com' });
    expect(first.status).toBe(202);
    const runId = (first.jsonBody as { runId: number }).runId;
    expect(runId).toBeGreaterThan(0);
    const second = await post('long-test-job', '{}');
    expect(second.status).toBe(409);
    release.open();
    // Wait until the background run is recorded as finished.
    for (let i = 0; i < 100; i++) {
      const { rows } = await db.pool.query('SELECT status FROM ops.job_run WHERE id = $1', [runId]);
      if (rows[0]?.status !== 'running') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const one = await getRunHandler(() => testDeps(db))(new HttpRequest({ method: 'GET', url: `http://localhost/api/maintenance/runs/${runId}`, params: { id: String(runId) } }), new InvocationContext());
    expect(one.status).toBe(200);
    expect(one.jsonBody).toMatchObject({ id: runId, job: 'long-test-job', status: 'ok', triggeredBy: 'aad:oncall@example.com', report: { summary: 'done a' } });
    const list = await listRunsHandler(() => testDeps(db))(new HttpRequest({ method: 'GET', url: 'http://localhost/api/maintenance/runs?limit=5' }), new InvocationContext());
    expect(list.status).toBe(200);
    expect((list.jsonBody as { runs: Array<{ id: number }> }).runs.map((r) => r.id)).toContain(runId);
  });

  it('validates the runs query and id', async () => {
    const bad = await listRunsHandler(() => testDeps(db))(new HttpRequest({ method: 'GET', url: 'http://localhost/api/maintenance/runs?job=nope&limit=5000' }), new InvocationContext());
    expect(bad.status).toBe(400);
    const missing = await getRunHandler(() => testDeps(db))(new HttpRequest({ method: 'GET', url: 'http://localhost/api/maintenance/runs/999999', params: { id: '999999' } }), new InvocationContext());
    expect(missing.status).toBe(404);
  });

  it('refuses a body over the limit with 413', async () => {
    const res = await post('install-verification', JSON.stringify({ params: {}, pad: 'x'.repeat(MAX_BODY_BYTES) }));
    expect(res.status).toBe(413);
  });

  it('fuzz: malformed requests all get a 4xx, nothing runs and nothing is written', async () => {
    const before = (await db.pool.query('SELECT count(*)::int AS n FROM ops.job_run')).rows[0].n;
    const seenBefore = seen.length;
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const injections = ["'; DROP TABLE ops.job_run; --", '"; SELECT pg_sleep(10); --', '<script>alert(1)</script>', '../../etc/passwd', '\u0000', '${7*7}', 'a'.repeat(5000)];
    const values: unknown[] = [null, 1, -1, 1e308, true, 'x', [], {}, [1, 2], { a: { b: { c: 1 } } }, ...injections];
    const bodies: string[] = [];
    for (let i = 0; i < 300; i++) {
      const kind = i % 10;
      if (kind === 0) bodies.push(pick(['{', '}', 'null', '[]', '"x"', '42', 'true', '{"params":', '\u0000\u0001']));
      else if (kind === 1) bodies.push(JSON.stringify({ params: pick(values), dryRun: pick(values) }));
      else if (kind === 2) bodies.push(JSON.stringify({ [pick(injections)]: pick(values) }));
      else if (kind === 3) bodies.push(JSON.stringify({ params: { label: pick([...injections.slice(0, 6), 1, null, {}]) } }));
      else if (kind === 4) bodies.push(JSON.stringify({ params: { [pick(injections)]: 'x' } }));
      else if (kind === 5) bodies.push(JSON.stringify({ dryRun: 'yes', params: {} }));
      else if (kind === 6) bodies.push(JSON.stringify({ triggeredBy: 'x'.repeat(300) }));
      else if (kind === 7) bodies.push(JSON.stringify(pick(values.filter((v) => typeof v !== 'object' || v === null || Array.isArray(v) || Object.keys(v).length > 0))));
      else if (kind === 8) bodies.push('x'.repeat(MAX_BODY_BYTES + 1 + Math.floor(rand() * 1000)));
      else bodies.push(JSON.stringify({ params: {}, extra: pick(values) }));
    }
    const targets = ['long-test-job', 'install-verification'];
    const statuses: number[] = [];
    for (const [i, body] of bodies.entries()) {
      const job = i % 7 === 0 ? pick(injections) : targets[i % 2]!;
      const res = await post(job, body);
      statuses.push(res.status ?? 0);
      // Answers are JSON (never HTML that would render an echoed string).
      expect(res.jsonBody).toBeDefined();
    }
    const notClientErrors = statuses.filter((s) => s < 400 || s >= 500);
    expect(notClientErrors).toEqual([]);
    expect(seen.length).toBe(seenBefore);
    const after = (await db.pool.query('SELECT count(*)::int AS n FROM ops.job_run')).rows[0].n;
    expect(after).toBe(before);
  });
});
