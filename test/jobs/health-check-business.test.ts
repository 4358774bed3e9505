import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kosQuery, productChangeQuery, windowsFor } from '../../src/jobs/health-check/business.js';
import { healthCheck } from '../../src/jobs/health-check/index.js';
import { platformFindings, type PlatformMetricsSource } from '../../src/jobs/health-check/platform.js';
import { replicaLagFinding } from '../../src/jobs/health-check/replication.js';
import { judgeReplicaLag, type ReplicaState } from '../../src/platform/db/replica-lag.js';
import { healthCheckSettings } from '../../src/jobs/health-check/settings.js';
import { loadSampleData } from '../../src/platform/db/sample-data.js';
import { registerJob, type Finding } from '../../src/shared/job.js';
import { runJob } from '../../src/shared/runner/run-job.js';
import { readSettings, type Env } from '../../src/platform/settings.js';
import { createTestDatabase, testDeps, type TestDatabase } from '../support/db.js';

const job = registerJob(healthCheck);
const quiet: Env = { DBOPS_TPS_WARNING_BELOW: '0' };
const defaults = readSettings(healthCheckSettings, {});
const find = (findings: Finding[], check: string) => findings.find((f) => f.check === check);

describe('health-check business metrics (last 24 h)', () => {
  let db: TestDatabase;
  const run = (env: Env = {}) => runJob(job, {}, testDeps(db, { env: { ...quiet, ...env } }), { trigger: 'test' });

  /** `completed` of every 100 finished requests in the last day succeed, taking `seconds` each. */
  async function changeRequests(completed: number, seconds = 2, failedDayBefore = 0, completedDayBefore = 0) {
    await db.pool.query('TRUNCATE product_change.pc_product_change_history');
    await db.pool.query(
      `INSERT INTO product_change.pc_product_change_history (line_number, customer_id, current_product_code, target_product_code, process_status, requested_at, processed_at)
       SELECT '010-0000-' || lpad(g::text, 4, '0'), 'C' || g, 'PLAN_A', 'PLAN_B', CASE WHEN g <= $1 THEN 'COMPLETED' ELSE 'FAILED' END,
              now() - (g * interval '10 minutes'), now() - (g * interval '10 minutes') + $2 * interval '1 second'
         FROM generate_series(1, 100) g`,
      [completed, seconds],
    );
    // In flight: not finished, so neither a success nor a failure.
    await db.pool.query(
      `INSERT INTO product_change.pc_product_change_history (line_number, customer_id, current_product_code, target_product_code, process_status, requested_at)
       SELECT '010-1111-0000', 'C0', 'PLAN_A', 'PLAN_B', 'PROCESSING', now() - interval '1 minute' FROM generate_series(1, 20)`,
    );
    await db.pool.query(
      `INSERT INTO product_change.pc_product_change_history (line_number, customer_id, current_product_code, target_product_code, process_status, requested_at, processed_at)
       SELECT '010-2222-0000', 'C0', 'PLAN_A', 'PLAN_B', CASE WHEN g <= $1 THEN 'FAILED' ELSE 'COMPLETED' END, now() - interval '30 hours', now() - interval '30 hours'
         FROM generate_series(1, $1::int + $2::int) g`,
      [failedDayBefore, completedDayBefore],
    );
  }

  async function kosCalls(successful: number) {
    await db.pool.query('TRUNCATE product_change.pc_kos_integration_log');
    await db.pool.query(
      `INSERT INTO product_change.pc_kos_integration_log (request_id, integration_type, is_success, response_time_ms, created_at)
       SELECT 'REQ-' || g, (ARRAY['CUSTOMER_INFO','PRODUCT_CHANGE'])[1 + g % 2], g <= $1, 100, now() - (g * interval '5 minutes')
         FROM generate_series(1, 100) g`,
      [successful],
    );
  }

  beforeAll(async () => {
    db = await createTestDatabase({ prefix: 'dbops_health_biz' });
    // The data reaches two days back; the migrations make this month's partition and three
    // ahead, so on the 1st or 2nd of a month last month's is needed too.
    await db.pool.query(
      `DO $$ DECLARE m date := date_trunc('month', now() AT TIME ZONE 'UTC')::date - interval '1 month'; BEGIN
         EXECUTE format('CREATE TABLE product_change.%I PARTITION OF product_change.pc_kos_integration_log FOR VALUES FROM (%L) TO (%L)',
           'pc_kos_integration_log_p' || to_char(m, 'YYYY_MM'), m::timestamp AT TIME ZONE 'UTC', (m + interval '1 month')::timestamp AT TIME ZONE 'UTC');
       END $$`,
    );
    await kosCalls(100);
  });
  afterAll(() => db.drop());

  it('is ok at the plan’s target, counting finished requests only', async () => {
    await changeRequests(97);
    const report = await run();
    expect(find(report.findings, 'business.pc-success')).toMatchObject({ severity: 'info', value: 97 });
    expect(find(report.findings, 'business.processing-time')).toMatchObject({ severity: 'info', value: 2 });
    expect(find(report.findings, 'business.kos-success')).toMatchObject({ severity: 'info', value: 100 });
    expect(report.summary).toMatch(/product changes 97 % successful, KOS 100 %, processing 2 s \(last 24 h\)/);
  });

  it('warns at 85 % product-change success and is critical at 75 %', async () => {
    await changeRequests(85);
    const warning = await run();
    expect(warning.status).toBe('warning');
    expect(find(warning.findings, 'business.pc-success')).toMatchObject({ severity: 'warning', value: 85, threshold: 90, unit: '%' });
    expect(find(warning.findings, 'business.pc-success')?.message).toMatch(/85 completed, 15 failed in the last 24 h/);

    await changeRequests(75);
    const critical = await run();
    expect(critical.status).toBe('critical');
    expect(find(critical.findings, 'business.pc-success')).toMatchObject({ severity: 'critical', value: 75, threshold: 80 });
    const { rows } = await db.pool.query('SELECT pc_success_percent FROM ops.health_snapshot WHERE job_run_id = $1', [critical.runId]);
    expect(Number(rows[0].pc_success_percent)).toBe(75);
  });

  it('judges the average processing time against 10 s and 30 s', async () => {
    await changeRequests(100, 15);
    expect(find((await run()).findings, 'business.processing-time')).toMatchObject({ severity: 'warning', value: 15, threshold: 10 });
    await changeRequests(100, 40);
    expect(find((await run()).findings, 'business.processing-time')).toMatchObject({ severity: 'critical', value: 40, threshold: 30 });
  });

  it('warns when failures rise against the previous window', async () => {
    // 30 % failed now; the day before, 10 failed of 40 finished (25 %): a rise, but not a doubling.
    await changeRequests(70, 2, 10, 30);
    expect(find((await run()).findings, 'business.pc-error-trend')).toMatchObject({ severity: 'info', value: 30, details: { previousFailed: 10, previousTotal: 40, changePercent: 20 } });
    // 10 % the day before: the rate tripled.
    await changeRequests(70, 2, 10, 90);
    const f = find((await run()).findings, 'business.pc-error-trend');
    expect(f).toMatchObject({ severity: 'warning', value: 30, details: { changePercent: 200 } });
    expect(f?.message).toBe('failed product changes: 30 of 100 (30 %) in the last 24 h against 10 of 100 (10 %) in the 24 h before, failure rate +200 %');
    await changeRequests(97);
  });

  it('judges the KOS success rate against 95 % and 90 %, naming the worst integration type', async () => {
    await kosCalls(93);
    const warning = find((await run()).findings, 'business.kos-success');
    expect(warning).toMatchObject({ severity: 'warning', value: 93, threshold: 95 });
    expect(warning?.details?.['byType']).toEqual({
      CUSTOMER_INFO: { calls: 50, failed: 4, successPercent: 92 },
      PRODUCT_CHANGE: { calls: 50, failed: 3, successPercent: 94 },
    });
    expect(warning?.message).toMatch(/lowest: CUSTOMER_INFO 92 %/);
    await kosCalls(85);
    expect(find((await run()).findings, 'business.kos-success')).toMatchObject({ severity: 'critical', value: 85, threshold: 90 });
    await kosCalls(100);
  });
});

describe('health-check on the demo data set', () => {
  let db: TestDatabase;
  // The data and the job's clock are laid out around one fixed instant, late in a month: the
  // checks' 24-hour windows are then a small share of the month's partition, as in production.
  // (On the 2nd of a month the partition holds a day and a half, and a sequential scan of it is
  // the planner's right choice; a test on today's date would judge the calendar, not the SQL.)
  const at = new Date('2026-06-24T12:00:00Z');
  beforeAll(async () => {
    db = await createTestDatabase({ prefix: 'dbops_health_plan' });
    // Smaller than the demo, large enough that the planner weighs indexes against scans as it would there.
    // loadSampleData ends with ANALYZE, as the plan's maintenance keeps statistics fresh.
    await loadSampleData(db.pool, { months: 3, logsPerMonth: 20_000, changeRequests: 40_000, monthsAhead: 1, now: at });
  }, 120_000);
  afterAll(() => db.drop());

  async function scannedRelations(query: { text: string; values: unknown[] }): Promise<Array<{ node: string; relation: string }>> {
    const { rows } = await db.pool.query(`EXPLAIN (FORMAT JSON) ${query.text}`, query.values);
    const out: Array<{ node: string; relation: string }> = [];
    const walk = (n: Record<string, unknown>) => {
      if (typeof n['Relation Name'] === 'string') out.push({ node: String(n['Node Type']), relation: n['Relation Name'] });
      for (const child of (n['Plans'] as Array<Record<string, unknown>> | undefined) ?? []) walk(child);
    };
    walk((rows[0]['QUERY PLAN'] as Array<{ Plan: Record<string, unknown> }>)[0]!.Plan);
    return out;
  }

  it('reads the large tables through the plan’s indexes, never a sequential scan', async () => {
    const w = windowsFor(at, 24);
    const pc = await scannedRelations(productChangeQuery('product_change', w));
    expect(pc.length).toBeGreaterThan(0);
    expect(pc.filter((s) => s.node === 'Seq Scan')).toEqual([]);
    expect(pc.map((s) => s.relation)).toEqual(['pc_product_change_history']);

    const kos = await scannedRelations(kosQuery('product_change', w));
    expect(kos.filter((s) => s.node === 'Seq Scan')).toEqual([]);
    expect(kos.every((s) => s.relation.startsWith('pc_kos_integration_log_p'))).toBe(true);
    // Partition pruning: only the partitions the two windows touch (one, or two at a month boundary).
    expect(new Set(kos.map((s) => s.relation)).size).toBeLessThanOrEqual(2);

    // The control: a filter no index can serve (a function of created_at) does scan, so the check
    // above can fail. (Leaving out the leading index column is no control from PostgreSQL 18 on,
    // whose btree skip scan reads the index for it.)
    const naive = await scannedRelations({
      text: "SELECT integration_type, is_success, count(*) FROM product_change.pc_kos_integration_log WHERE date_trunc('hour', created_at) >= $1 AND date_trunc('hour', created_at) < $2 GROUP BY 1, 2",
      values: [w.previousFrom, w.to],
    });
    expect(naive.some((s) => s.node === 'Seq Scan')).toBe(true);
  });

  it('finds the sample data healthy', async () => {
    const report = await runJob(job, {}, testDeps(db, { env: quiet, now: () => at }), { trigger: 'test' });
    expect(report.findings.filter((f) => f.check.startsWith('business.') && f.severity !== 'info')).toEqual([]);
    expect(report.findings.filter((f) => f.check.endsWith('.error') || f.details?.['checkFailed'])).toEqual([]);
    // Time is for the benchmark (npm run bench -- health); printed here for the record only.
    console.info(`health-check on the test data set: ${report.timings.durationMs} ms, ${String(report.data['queries'])} queries`);
  });
});

describe('health-check on the demo’s sample data, whatever the day', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ prefix: 'dbops_health_days' });
  });
  afterAll(() => db.drop());

  // The demo (`npm start`) expects "overall ok" on any day it is run. These instants are the ones
  // where a random sample went wrong or could: five minutes into a month (the last 24 h lie in the
  // month before), the 2nd (a small current partition), a leap day, a month's last minute.
  const instants = ['2027-01-01T00:05:00Z', '2026-12-02T16:24:00Z', '2028-02-29T12:00:00Z', '2027-03-31T23:59:00Z'];
  it.each(instants)('finds the demo’s data healthy at %s', async (instant) => {
    const at = new Date(instant);
    await db.pool.query('TRUNCATE product_change.pc_kos_integration_log, product_change.pc_product_change_history');
    await loadSampleData(db.pool, { logsPerMonth: 2_000, changeRequests: 20_000, now: at });
    const report = await runJob(job, {}, testDeps(db, { env: quiet, now: () => at }), { trigger: 'test' });
    expect(report.findings.filter((f) => f.check.startsWith('business.') && f.severity !== 'info')).toEqual([]);
    expect((report.data['metrics'] as Record<string, number>)['business.kos-calls']).toBeGreaterThan(40);
    expect((report.data['metrics'] as Record<string, number>)['business.kos-success.percent']).toBeGreaterThanOrEqual(98);
  }, 60_000);
});

describe('health-check platform metrics (Azure Monitor through PlatformMetricsSource)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ prefix: 'dbops_health_platform' });
  });
  afterAll(() => db.drop());

  it('applies the plan’s thresholds to every metric', () => {
    const findings = platformFindings(
      {
        cpu_percent: 91,
        memory_percent: 85,
        storage_percent: 76.5,
        disk_iops_consumed_percentage: 80.1,
        active_connections: 151,
        physical_replication_delay_in_seconds: 301,
        is_db_alive: 0,
      },
      defaults,
    );
    const by = Object.fromEntries(findings.map((f) => [f.check, [f.severity, f.threshold]]));
    expect(by).toEqual({
      'platform.is_db_alive': ['critical', 1],
      'platform.cpu_percent': ['warning', 80],
      'platform.memory_percent': ['info', 85], // not above 85
      'platform.storage_percent': ['warning', 75],
      'platform.disk_iops_consumed_percentage': ['warning', 80],
      'platform.active_connections': ['critical', 150],
      'platform.physical_replication_delay_in_seconds': ['critical', 300],
    });
    expect(platformFindings({ physical_replication_delay_in_seconds: 61 }, defaults)[0]).toMatchObject({ severity: 'warning', threshold: 60 });
    expect(platformFindings({ cpu_percent: null }, defaults)[0]).toMatchObject({ severity: 'info', message: expect.stringMatching(/no recent data point/) });
  });

  it('reads the metrics from services.platformMetrics and stores them in the snapshot', async () => {
    const asked: string[][] = [];
    const platformMetrics: PlatformMetricsSource = {
      async latest(names) {
        asked.push([...names]);
        return { cpu_percent: 95, memory_percent: 40, storage_percent: 80, disk_iops_consumed_percentage: 10, active_connections: 12, physical_replication_delay_in_seconds: null, is_db_alive: 1 };
      },
    };
    const report = await runJob(job, {}, testDeps(db, { env: quiet, services: { platformMetrics } }), { trigger: 'test' });
    expect(asked).toHaveLength(1);
    expect(report.status).toBe('warning');
    expect(report.findings.filter((f) => f.severity !== 'info').map((f) => f.check)).toEqual(['platform.cpu_percent', 'platform.storage_percent']);
    const { rows } = await db.pool.query('SELECT cpu_percent, storage_percent, metrics FROM ops.health_snapshot WHERE job_run_id = $1', [report.runId]);
    expect([Number(rows[0].cpu_percent), Number(rows[0].storage_percent), rows[0].metrics['platform.is_db_alive']]).toEqual([95, 80, 1]);
  });

  it('turns a failing metrics source into a finding and still runs the database checks', async () => {
    const platformMetrics: PlatformMetricsSource = {
      latest: () => Promise.reject(new Error('AuthorizationFailed: the identity lacks Monitoring Reader')),
    };
    const report = await runJob(job, {}, testDeps(db, { env: quiet, services: { platformMetrics } }), { trigger: 'test' });
    expect(find(report.findings, 'platform')).toMatchObject({ severity: 'warning', message: expect.stringMatching(/platform check could not run: AuthorizationFailed/) });
    expect(find(report.findings, 'connections.total')).toBeDefined();
  });
});

describe('replica lag thresholds', () => {
  // The states a real streaming replica goes through are produced in health-check-replica.test.ts;
  // the thresholds on the judged lag are checked here.
  const state = (over: Partial<ReplicaState> = {}): ReplicaState => ({
    inRecovery: true, receiverStatus: 'streaming', lastMessageAgeSeconds: 1, receivedLsn: '0/3000100', replayedLsn: '0/3000000',
    replayBacklogBytes: 256, lastReplayAgeSeconds: 5, hotStandbyFeedback: false, ...over,
  });
  const lag = (over: Partial<ReplicaState>, primaryLsn?: string) => judgeReplicaLag(state(over), { primaryLsn: primaryLsn ?? null, silentAfterSeconds: 60 });
  it('is fine under a minute, warns above it and is critical above 300 s', () => {
    expect(replicaLagFinding('replica.lag', 'r', lag({ lastReplayAgeSeconds: 5 }), defaults).severity).toBe('info');
    expect(replicaLagFinding('replica.lag', 'r', lag({ lastReplayAgeSeconds: 61 }), defaults)).toMatchObject({ severity: 'warning', threshold: 60, value: 61 });
    expect(replicaLagFinding('replica.lag', 'r', lag({ lastReplayAgeSeconds: 301 }), defaults)).toMatchObject({ severity: 'critical', threshold: 300 });
    expect(replicaLagFinding('replica.lag', 'r', lag({ lastReplayAgeSeconds: null }), defaults)).toMatchObject({ severity: 'warning', message: expect.stringMatching(/lag unknown/) });
  });
  it('reads an idle primary as no lag, and a stopped stream as critical once the primary has written more', () => {
    expect(lag({ replayBacklogBytes: 0, receivedLsn: '0/3000000', lastReplayAgeSeconds: 86_400 }, '0/3000000')).toMatchObject({ condition: 'current', lagSeconds: 0, bytesBehind: 0 });
    const stopped = lag({ receiverStatus: null, replayBacklogBytes: 0, receivedLsn: '0/3000000', lastReplayAgeSeconds: 30 }, '0/5000000');
    expect(stopped).toMatchObject({ condition: 'stopped', bytesBehind: 0x2000000 });
    expect(replicaLagFinding('replica.lag', 'r', stopped, defaults)).toMatchObject({ severity: 'critical', message: expect.stringMatching(/streaming has stopped/) });
    expect(replicaLagFinding('replica.lag', 'r', lag({ receiverStatus: null, replayBacklogBytes: 0, receivedLsn: '0/3000000' }, '0/3000000'), defaults).severity).toBe('warning');
    expect(replicaLagFinding('replica.lag', 'r', lag({ lastReplayAgeSeconds: 5 }, '1/0'), defaults)).toMatchObject({ severity: 'critical', message: expect.stringMatching(/GB of the primary/) });
  });
});
