import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { costCheck } from '../../src/jobs/cost-check/index.js';
import { registerJob, type JobReport } from '../../src/shared/job.js';
import { runJob } from '../../src/shared/runner/run-job.js';
import type { ClientFactoryOptions } from '../../src/platform/azure/index.js';
import { startAzureEmulator, type AzureEmulator } from '../../src/local-azure/index.js';
import { createTestDatabase, testDeps, type TestDatabase } from '../support/db.js';
import { day, forecastResponder, METERS, planLines, queryResponder, resourceIds, spread, type LedgerEntry } from '../../src/local-azure/cost-ledger.js';

const job = registerJob(costCheck);
// 06:00 UTC on 20 November 2026: with the 24 h lag, days up to the 18th are complete; the 19th is partial.
const NOW = new Date('2026-11-20T06:00:00Z');

let db: TestDatabase;
let emu: AzureEmulator;
let ids: ReturnType<typeof resourceIds>;
let ledger: LedgerEntry[] = [];
let types: string[] = [];

/** October and 1–18 November in full, half of the 19th (still arriving), nothing yet for the 20th. */
function plan(options: { october?: number; november?: (d: number) => number } = {}): LedgerEntry[] {
  const lines = planLines(ids);
  return [
    ...spread(lines, '2026-10-01', '2026-10-31', () => options.october ?? 1),
    ...spread(lines, '2026-11-01', '2026-11-18', options.november),
    ...spread(lines, '2026-11-19', '2026-11-19', (d) => 0.5 * (options.november?.(d) ?? 1)),
  ];
}

const run = (client: ClientFactoryOptions = {}, env: Record<string, string> = {}): Promise<JobReport> =>
  runJob(job, {}, testDeps(db, { env: { ...emu.env, ...env }, services: { azure: emu.services({ client, env }) }, now: () => NOW }), { trigger: 'test' });

const check = (report: JobReport, name: string) => report.findings.filter((f) => f.check === name);

beforeAll(async () => {
  db = await createTestDatabase();
  emu = await startAzureEmulator();
  ids = resourceIds(emu.subscriptionId, emu.resourceGroup, 'pg-dbops-test');
});
afterAll(async () => {
  await emu?.close();
  await db?.drop();
});
beforeEach(() => {
  emu.clearFaults();
  emu.cost.pageSize = 1000;
  types = [];
  ledger = plan();
  emu.cost.query = queryResponder(() => ledger, () => NOW, types);
  emu.cost.forecast = forecastResponder(50);
});

describe('cost-check against Cost Management (emulated)', () => {
  it('a month of the plan\'s daily costs is under budget: ok, with the figures the console shows and a per-component split', async () => {
    const report = await run();
    expect(report.status, report.summary).toBe('ok');
    expect(report.data).toMatchObject({
      currency: 'USD',
      budget: 1600,
      // 18 complete days × 46.14 + half of the 19th
      monthToDate: 853.59,
      // 830.52 on complete days + 46.14 (mean of 12–18 Nov) × 12 days left
      projectedMonthEnd: 1384.2,
      // 31 × 46.14
      lastMonth: 1430.34,
      completeThrough: '2026-11-18',
      completeDays: 18,
      runRate: 46.14,
      // 830.52 + the Forecast API's 50 × 12 remaining days
      forecastMonthEnd: 1430.52,
      costType: 'ActualCost',
      highAvailability: 'ZoneRedundant',
      monthOverMonth: { comparableDays: 18, increasePercent: 0 },
    });
    // 18.5 days of each line; the primary's compute and storage are half standby under HA.
    expect(report.data.components).toMatchObject({
      primaryCompute: { monthToDate: 203.5 },
      haStandby: { monthToDate: 249.75 },
      storage: { monthToDate: 46.25 },
      replica: { monthToDate: 175.75 },
      backupStorage: { monthToDate: 92.5 },
      network: { monthToDate: 48.84 },
      monitoring: { monthToDate: 37, projectedMonthEnd: 60 },
    });
    expect(report.data.components).not.toHaveProperty('other');
    expect(report.summary).toMatch(/^USD 853\.59 month to date \(complete through 2026-11-18\), projected USD 1,384\.20 against a budget of USD 1,600\.00; last month USD 1,430\.34\./);

    // Savings: compute lines 22 + 8 a day → 900 a month, 30 % of it.
    expect(check(report, 'cost.savings.reserved-capacity')[0]).toMatchObject({ severity: 'info', value: 270, details: { monthlyCompute: 900, discountPercent: 30 } });
    expect(check(report, 'cost.savings.backup-storage')[0]).toMatchObject({ severity: 'info', value: 150 });
    expect(check(report, 'cost.savings.monitoring')).toEqual([]);
    expect(report.findings.every((f) => f.severity === 'info')).toBe(true);

    // The queries: daily, two groupings at most, one month each; the pricing-model probe and the tag query.
    const bodies = emu.cost.requests.slice(-5);
    expect(bodies.map((r) => r.kind)).toEqual(['query', 'query', 'query', 'query', 'forecast']);
    const [pricing, tagged, last, current, forecast] = bodies.map((r) => r.body as Record<string, any>);
    expect(pricing).toMatchObject({ type: 'ActualCost', timeframe: 'Custom', dataset: { granularity: 'None', grouping: [{ name: 'PricingModel' }] } });
    expect(tagged).toMatchObject({ timeframe: 'MonthToDate', dataset: { filter: { tags: { name: 'purpose', operator: 'In', values: ['dbops-restore-test'] } } } });
    for (const [body, timeframe] of [[last!, 'TheLastMonth'], [current!, 'MonthToDate']] as const) {
      expect(body).toMatchObject({ type: 'ActualCost', timeframe, dataset: { granularity: 'Daily', aggregation: { totalCost: { name: 'Cost', function: 'Sum' } } } });
      expect(body.dataset.grouping.map((g: { name: string }) => g.name)).toEqual(['ResourceId', 'MeterSubCategory']);
    }
    expect(forecast).toMatchObject({ timeframe: 'Custom', timePeriod: { from: '2026-11-19T00:00:00.000Z', to: '2026-11-30T23:59:59.000Z' }, includeActualCost: false });
  });

  it('a projection over budget is a warning, with the arithmetic in the message', async () => {
    ledger = plan({ november: () => 1.18 });
    const report = await run();
    expect(report.status).toBe('warning');
    const [f] = check(report, 'cost.budget.projected');
    // 980.01 on 18 complete days + 54.45 a day × 12 = 1,633.36 > 1,600
    expect(f).toMatchObject({ severity: 'warning', value: 1633.36, threshold: 1600, details: { completeToDate: 980.01, runRatePerDay: 54.45, daysLeft: 12 } });
    expect(f?.message).toContain('USD 980.01 on 18 complete days + USD 54.45/day × 12 days');
    expect(check(report, 'cost.budget.actual')).toEqual([]);
    expect(check(report, 'cost.increase')).toEqual([]); // +18 %, under the 20 % line
  });

  it('when only the Forecast API sees the budget passed, it is said as a note, not an alert', async () => {
    emu.cost.forecast = forecastResponder(70);
    const report = await run();
    expect(report.status).toBe('ok');
    // 830.52 + 70 × 12 = 1,670.52 against our 1,384.20
    expect(check(report, 'cost.budget.forecast')[0]).toMatchObject({ severity: 'info', value: 1670.52, threshold: 1600 });
    expect(report.data).toMatchObject({ forecastMonthEnd: 1670.52, projectedMonthEnd: 1384.2 });
  });

  it('a Forecast API that cannot forecast (400) leaves the projection alone', async () => {
    emu.inject({ operation: 'cost.forecast', kind: 'error', status: 400, code: 'BadRequest', times: 1 });
    const report = await run();
    expect(report.status).toBe('ok');
    expect(report.data).toMatchObject({ forecastMonthEnd: null, projectedMonthEnd: 1384.2 });
  });

  it('actual cost over budget is critical', async () => {
    ledger = plan({ november: () => 2 });
    const report = await run();
    expect(report.status).toBe('critical');
    expect(check(report, 'cost.budget.actual')[0]).toMatchObject({ severity: 'critical', value: 1707.18, threshold: 1600 });
    expect(check(report, 'cost.budget.projected')).toEqual([]);
  });

  it('+25 % on last month over the same complete days is a warning; the budget is fine', async () => {
    ledger = plan({ october: 1 / 1.25 });
    const report = await run();
    expect(report.status).toBe('warning');
    expect(report.findings.filter((f) => f.severity !== 'info').map((f) => f.check)).toEqual(['cost.increase']);
    expect(check(report, 'cost.increase')[0]).toMatchObject({ value: 25, threshold: 20, unit: '%' });
    expect(report.data.monthOverMonth).toMatchObject({ comparableDays: 18, thisMonth: 830.52, lastMonth: 664.42 });
  });

  it('a one-day spike is an anomaly naming the day and the component that rose', async () => {
    ledger = [...plan(), { resourceId: ids.primary, meter: METERS.interRegion, perDay: 60, day: day('2026-11-17') }];
    const report = await run();
    expect(report.status).toBe('warning');
    const anomalies = check(report, 'cost.anomaly');
    expect(anomalies).toHaveLength(1);
    expect(anomalies[0]).toMatchObject({ target: 'day:2026-11-17', value: 106.14, threshold: 69.21 });
    expect((anomalies[0]?.details as { rises: Array<{ component: string }> }).rises[0]?.component).toBe('network');
    // The 18th is back to normal, and its trailing mean includes the spike: no second anomaly.
    expect(check(report, 'cost.budget.projected')).toEqual([]);
  });

  it('names a new cost line, a vanished replica and the restore-test servers (by prefix and by tag)', async () => {
    const lines = planLines(ids);
    const replicaGone = (e: LedgerEntry) => !(e.resourceId === ids.replica && e.day > day('2026-11-16'));
    const restoreTag = { purpose: 'dbops-restore-test' };
    ledger = [
      ...plan().filter(replicaGone),
      ...spread([{ resourceId: ids.privateEndpoint('pe-pg-2'), meter: METERS.privateEndpoint, perDay: 0.24 }], '2026-11-05', '2026-11-19'),
      ...spread([{ resourceId: ids.server('pg-dbops-test-rt-202611150300-1'), meter: METERS.compute, perDay: 2.5 }], '2026-11-15', '2026-11-15'),
      ...spread([{ resourceId: ids.server('pg-restore-check-1'), meter: METERS.compute, perDay: 4, tags: restoreTag }], '2026-11-17', '2026-11-19'),
    ];
    expect(lines).toHaveLength(8);
    const report = await run();
    expect(check(report, 'cost.component.new')).toEqual([
      expect.objectContaining({ severity: 'info', target: 'privateendpoints/pe-pg-2 · Virtual Network Private Link', value: 3.36 }),
    ]);
    expect(check(report, 'cost.component.gone')).toEqual([
      expect.objectContaining({ severity: 'warning', target: `flexibleservers/pg-dbops-test-replica · ${METERS.compute}`, value: 8 }),
      expect.objectContaining({ severity: 'info', target: `flexibleservers/pg-dbops-test-replica · ${METERS.storage}`, value: 1.5 }),
    ]);
    const [restore] = check(report, 'cost.restore-servers');
    expect(restore).toMatchObject({ severity: 'warning', value: 14.5 });
    expect(restore?.message).toMatch(/pg-restore-check-1 billed on each of the last 2 complete days: left running\?/);
    expect(restore?.details).toEqual({
      servers: {
        'pg-dbops-test-rt-202611150300-1': { cost: 2.5, days: ['2026-11-15'] },
        'pg-restore-check-1': { cost: 12, days: ['2026-11-17', '2026-11-18', '2026-11-19'] },
      },
    });
    expect(report.data.components).toMatchObject({ restoreServers: { monthToDate: 14.5 } });
  });

  it('extended-support charges are their own component and a warning naming the upgrade', async () => {
    ledger = [
      ...plan(),
      ...spread([{ resourceId: ids.primary, meter: METERS.extendedSupport, perDay: 4 }], '2026-11-01', '2026-11-18'),
      ...spread([{ resourceId: ids.replica, meter: METERS.extendedSupport, perDay: 2 }], '2026-11-01', '2026-11-18'),
    ];
    const report = await run();
    // 18 days × (4 + 2), nothing in the primary's compute: extended support is not compute or HA.
    expect(report.data.components).toMatchObject({ extendedSupport: { label: 'PostgreSQL extended support', monthToDate: 108 }, primaryCompute: { monthToDate: 203.5 } });
    const [line] = check(report, 'cost.extended-support');
    expect(line).toMatchObject({ severity: 'warning', target: 'extendedSupport', unit: 'USD' });
    expect(line?.message).toMatch(/^PostgreSQL extended support is billed: USD 108\.00 this month/);
    expect(line?.remedy).toMatch(/dbops run version-upgrade --param plan=rehearse --param target=17/);
    // Without such a line there is no finding.
    ledger = plan();
    expect(check(await run(), 'cost.extended-support')).toEqual([]);
  });

  it('switches to AmortizedCost when reservations show in the pricing model, and drops the reserved-capacity hint', async () => {
    ledger = [...plan(), { resourceId: ids.primary, meter: METERS.compute, perDay: 0, pricingModel: 'Reservation', day: day('2026-11-02') }];
    const report = await run();
    expect(types).toEqual(['ActualCost', 'AmortizedCost', 'AmortizedCost', 'AmortizedCost']);
    expect(report.data).toMatchObject({ costType: 'AmortizedCost', commitments: ['Reservation'] });
    expect(check(report, 'cost.savings.reserved-capacity')).toEqual([]);
    expect(emu.cost.requests.at(-1)).toMatchObject({ kind: 'forecast', body: { type: 'AmortizedCost' } });
  });

  it('follows nextLink: the month-to-date answer in two pages gives the same figures', async () => {
    emu.cost.pageSize = 100; // November: 8 lines × 19 days = 152 rows
    const before = emu.cost.requests.length;
    const report = await run();
    expect(report.status).toBe('ok');
    expect(report.data).toMatchObject({ monthToDate: 853.59, projectedMonthEnd: 1384.2, lastMonth: 1430.34 });
    const current = emu.cost.requests.slice(before).filter((r) => r.kind === 'query' && r.body.timeframe === 'MonthToDate' && !(r.body.dataset as { filter?: unknown }).filter);
    expect(current.map((r) => r.page)).toEqual([1, 2]);
    expect(current[1]?.body).toEqual(current[0]?.body);
  });

  it('waits as the QPU header asks after a 429, then succeeds', async () => {
    const waits: number[] = [];
    const throttle = emu.inject({ operation: 'cost.query', kind: 'throttle', qpuRetryAfterSeconds: 3, times: 1 });
    const report = await run({ sleep: async (ms) => void waits.push(ms) });
    expect(throttle.hits).toBe(1);
    expect(waits).toEqual([3000]);
    expect(report.status).toBe('ok');
    expect(report.data.projectedMonthEnd).toBe(1384.2);
  });

  it('a 204 answer (no usage yet) is ok and says so', async () => {
    // Routes added later win, so a 204-only emulator of its own keeps the others' routes intact.
    const empty = await startAzureEmulator({
      routes: [{ operation: 'cost.query', method: 'POST', path: '/{scope*}/providers/Microsoft.CostManagement/query', handler: () => ({ status: 204 }) }],
    });
    try {
      const report = await runJob(job, {}, testDeps(db, { env: empty.env, services: { azure: empty.services() }, now: () => NOW }), { trigger: 'test' });
      expect(report.status, report.summary).toBe('ok');
      expect(report.summary).toMatch(/^No cost data for \/subscriptions\/.+ yet/);
      expect(report.data).toMatchObject({ monthToDate: 0, projectedMonthEnd: 0, lastMonth: 0, budget: 1600, noData: true });
      expect(report.data.currency).toBeUndefined();
      expect(empty.calls.filter((c) => c.operation === 'cost.query').every((c) => c.status === 204)).toBe(true);
    } finally {
      await empty.close();
    }
  });

  it('a new subscription (empty answers) is ok; a few days of data are not compared or called anomalies', async () => {
    ledger = [];
    expect((await run()).status).toBe('ok');
    ledger = spread(planLines(ids), '2026-11-14', '2026-11-19');
    const report = await run();
    expect(report.status).toBe('ok');
    expect(report.data).toMatchObject({ monthOverMonth: null, runRateDays: 5, lastMonth: 0 });
    expect(report.findings.filter((f) => f.check.startsWith('cost.component') || f.check === 'cost.anomaly')).toEqual([]);
  });

  it('is skipped, naming the settings, when the cost scope is not configured', async () => {
    const report = await run({}, { DBOPS_AZURE_RESOURCE_GROUP: '' });
    expect(report.status).toBe('skipped');
    expect(report.summary).toContain('DBOPS_AZURE_RESOURCE_GROUP');
  });
});
