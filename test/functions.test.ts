import functions from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthHandler } from '../src/functions/http-health.js';
import { maintenanceHandler } from '../src/functions/http-maintenance.js';
import { registerFunctions } from '../src/functions/index.js';
import { ScheduleError } from '../src/shared/schedule.js';
import { createTestDatabase, testDeps, type TestDatabase } from './support/db.js';

const { HttpRequest, InvocationContext } = functions;

describe('HTTP functions (test mode)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  const post = (job: string, body: unknown) =>
    maintenanceHandler(() => testDeps(db))(
      new HttpRequest({
        method: 'POST',
        url: `http://localhost/api/maintenance/${job}`,
        params: { job },
        body: { string: typeof body === 'string' ? body : JSON.stringify(body) },
      }),
      new InvocationContext({ functionName: 'maintenance' }),
    );

  it('runs a job and answers 200 with the report', async () => {
    const res = await post('install-verification', { dryRun: true });
    expect(res.status).toBe(200);
    expect(res.jsonBody).toMatchObject({ job: 'install-verification', status: 'ok', dryRun: true, trigger: 'http' });
  });

  it('answers 404 with the list of jobs for an unknown job', async () => {
    const res = await post('drop-everything', {});
    expect(res.status).toBe(404);
    expect(res.jsonBody).toMatchObject({ jobs: expect.arrayContaining(['install-verification']) });
  });

  it('answers 400 saying which parameter is wrong', async () => {
    const bad = await post('install-verification', { params: { schema: 42 } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.jsonBody)).toMatch(/schema/);
    const notJson = await post('install-verification', '{oops');
    expect(notJson.status).toBe(400);
    const unknownField = await post('install-verification', { dryrun: true });
    expect(unknownField.status).toBe(400);
    expect(JSON.stringify(unknownField.jsonBody)).toMatch(/dryrun/);
  });

  it('a timer loads its job on first use and records the run as a timer run', async () => {
    const { timerHandler } = await import('../src/functions/timers.js');
    const { manifests } = await import('../src/jobs/manifests.js');
    const health = manifests.find((m) => m.name === 'health-check')!;
    await timerHandler(health, health.schedules[0]!, () => testDeps(db))({ isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } }, new InvocationContext());
    const { rows } = await db.pool.query(`SELECT trigger, triggered_by, params FROM ops.job_run WHERE job = 'health-check'`);
    expect(rows).toEqual([{ trigger: 'timer', triggered_by: 'timer:DBOPS_SCHEDULE_HEALTH_CHECK', params: expect.objectContaining({ mode: 'probe' }) }]);
  });

  it('health answers 200 with no secret in it', async () => {
    const res = await healthHandler(() => testDeps(db))(new HttpRequest({ method: 'GET', url: 'http://localhost/api/health' }), new InvocationContext());
    expect(res.status).toBe(200);
    expect(res.jsonBody).toMatchObject({ status: 'ok', database: 'reachable' });
    expect(JSON.stringify(res.jsonBody)).not.toContain(new URL(db.url).password);
  });

  it('health answers 503 when the database is unreachable', async () => {
    const deps = testDeps(db);
    const res = await healthHandler(() => ({ ...deps, target: { kind: 'url', url: 'postgres://x:y@127.0.0.1:1/z' } }))(
      new HttpRequest({ method: 'GET', url: 'http://localhost/api/health' }),
      new InvocationContext(),
    );
    expect(res.status).toBe(503);
  });
});

describe('function registration', () => {
  it('registers a timer per schedule and fails fast, naming the setting, on a wrong one', async () => {
    const { jobs } = await import('../src/jobs/index.js');
    const names = registerFunctions({});
    const schedules = jobs.flatMap((j) => j.schedules.map((s) => ({ job: j.name, setting: s.setting })));
    expect(schedules.length).toBeGreaterThan(3);
    expect(names.filter((n) => n.startsWith('timer-'))).toHaveLength(schedules.length);
    expect(names).toEqual(expect.arrayContaining(['maintenance', 'health', 'console', 'alertsResourceHealth', 'failoverEvents', 'keyVaultEvents']));
    for (const { setting } of schedules) {
      expect(() => registerFunctions({ [setting]: '*/5 * * * *' })).toThrow(new RegExp(`${setting}.*six`));
    }
  });

  it('rejects a five-field cron with a message that says how to fix it', async () => {
    const { parseNcrontab } = await import('../src/shared/schedule.js');
    expect(() => parseNcrontab('*/5 * * * *', 'DBOPS_SCHEDULE_HEALTH_CHECK')).toThrow(ScheduleError);
    expect(() => parseNcrontab('*/5 * * * *', 'DBOPS_SCHEDULE_HEALTH_CHECK')).toThrow(/DBOPS_SCHEDULE_HEALTH_CHECK.*six/);
    expect(() => parseNcrontab('0 61 * * * *', 'X')).toThrow(/not a valid NCRONTAB/);
    expect(parseNcrontab('0 0 17 * * *', 'X', 1, new Date('2026-11-29T12:00:00Z'))[0]?.toISOString()).toBe('2026-11-29T17:00:00.000Z');
  });
});

describe('job manifests (what the Function App registers before loading any job)', () => {
  it('match the registry: same jobs, order, titles and schedules', async () => {
    const { manifests } = await import('../src/jobs/manifests.js');
    const { jobs } = await import('../src/jobs/index.js');
    const shape = (j: { name: string; title: string; schedules: unknown[] }) => ({ name: j.name, title: j.title, schedules: j.schedules });
    expect(manifests.map(shape)).toEqual(jobs.map(shape));
  });
});
