import { describe, expect, it } from 'vitest';
import { anomalies, calendar, dailyTotals, monthOverMonth, totals, type DailyTotals } from '../../src/jobs/cost-check/analysis.js';
import { allocate, lineLabel, type Deployment } from '../../src/jobs/cost-check/components.js';
import { moneyFormat } from '../../src/jobs/cost-check/index.js';
import { parseCostTable } from '../../src/jobs/cost-check/table.js';

const series = (entries: Array<[string, string, number]>): DailyTotals => {
  const out: DailyTotals = new Map();
  for (const [from, to, cost] of entries) {
    for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) {
      out.set(Number(new Date(t).toISOString().slice(0, 10).replaceAll('-', '')), cost);
    }
  }
  return out;
};

describe('calendar: which days are complete', () => {
  it('counts a day complete once it has ended and the lag has passed', () => {
    // 11 Nov 06:00 − (24 h + 24 h lag) = 9 Nov 06:00: the 9th ended at 10 Nov 00:00, +24 h = 11 Nov 00:00 ≤ now.
    expect(calendar(new Date('2026-11-11T06:00:00Z'), 24)).toMatchObject({ monthStart: 20261101, daysInMonth: 30, lastCompleteDay: 20261109, completeDays: 9, lastMonthStart: 20261001, daysInLastMonth: 31 });
    expect(calendar(new Date('2026-11-11T06:00:00Z'), 8).lastCompleteDay).toBe(20261109);
    expect(calendar(new Date('2026-11-11T08:00:00Z'), 8).lastCompleteDay).toBe(20261110);
  });

  it('reaches into last month on the first days, and says last month is final only after 72 h', () => {
    const early = calendar(new Date('2026-12-02T12:00:00Z'), 24);
    expect(early).toMatchObject({ lastCompleteDay: 20261130, completeDays: 0, lastMonthFinal: false, daysInMonth: 31, daysInLastMonth: 30 });
    expect(calendar(new Date('2026-12-04T00:00:00Z'), 24).lastMonthFinal).toBe(true);
    expect(calendar(new Date('2027-03-10T00:00:00Z'), 24)).toMatchObject({ daysInLastMonth: 28, lastMonthStart: 20270201 });
  });
});

describe('projection (hand-checked)', () => {
  it('complete days + the trailing 7-day mean × the days left; partial days are replaced by the rate', () => {
    const now = new Date('2026-11-11T06:00:00Z'); // complete through 9 Nov
    const cal = calendar(now, 24);
    const daily = series([
      ['2026-10-01', '2026-10-31', 40],
      ['2026-11-01', '2026-11-05', 40],
      ['2026-11-06', '2026-11-09', 50],
      ['2026-11-10', '2026-11-10', 20], // still arriving
    ]);
    const t = totals(daily, cal, 20261001);
    // 5 × 40 + 4 × 50 = 400 on complete days; 400 + 20 = 420 month to date.
    expect(t.completeToDate).toBe(400);
    expect(t.monthToDate).toBe(420);
    // 3–9 Nov: 3 × 40 + 4 × 50 = 320 over 7 days.
    expect(t.runRateDays).toBe(7);
    expect(t.runRate).toBeCloseTo(320 / 7, 10);
    // 400 + 320/7 × (30 − 9) = 400 + 960 = 1,360.
    expect(t.projectedMonthEnd).toBeCloseTo(1360, 9);
    expect(t.lastMonth).toBe(31 * 40);
  });

  it('early in the month the rate comes from the end of last month', () => {
    const cal = calendar(new Date('2026-12-02T12:00:00Z'), 24); // complete through 30 Nov, none of December
    const daily = series([
      ['2026-11-01', '2026-11-23', 30],
      ['2026-11-24', '2026-11-30', 45],
      ['2026-12-01', '2026-12-01', 10],
    ]);
    const t = totals(daily, cal, 20261101);
    expect(t.completeToDate).toBe(0);
    expect(t.runRate).toBe(45);
    // 0 + 45 × 31 = 1,395
    expect(t.projectedMonthEnd).toBe(1395);
    expect(t.monthToDate).toBe(10);
  });

  it('a resource group four days old projects from its four days', () => {
    const cal = calendar(new Date('2026-11-20T06:00:00Z'), 24);
    const t = totals(series([['2026-11-15', '2026-11-18', 40]]), cal, 20261115);
    expect(t.runRateDays).toBe(4);
    // 160 + 40 × 12 = 640
    expect(t.projectedMonthEnd).toBe(640);
  });

  it('month over month compares the mean per comparable day, also when last month is shorter', () => {
    const cal = calendar(new Date('2027-03-31T06:00:00Z'), 24); // complete through 29 March; February has 28 days
    const daily = series([
      ['2027-02-01', '2027-02-28', 40],
      ['2027-03-01', '2027-03-29', 50],
    ]);
    // 29 × 50 against 28 × 40: 50 a day against 40 = +25 %.
    expect(monthOverMonth(daily, cal, 20270201)).toEqual({ comparableDays: 29, thisMonth: 1450, lastMonth: 1120, increasePercent: 25 });
    // Last month's data starting mid-month is no baseline.
    expect(monthOverMonth(daily, cal, 20270210)).toBeUndefined();
  });

  it('anomalies: above factor × the 7-day mean and by at least the minimum amount', () => {
    const cal = calendar(new Date('2026-11-20T06:00:00Z'), 24);
    const daily = series([['2026-10-20', '2026-11-18', 40]]);
    daily.set(20261118, 70); // 1.75 × 40, +30
    daily.set(20261116, 58); // 1.45 × 40: under the factor
    expect(anomalies(daily, cal, 20261020, { factor: 1.5, minAmount: 10, lookback: 3 })).toEqual([{ day: 20261118, cost: 70, trailingMean: (6 * 40 + 58) / 7, factor: 70 / ((6 * 40 + 58) / 7) }]);
    expect(anomalies(daily, cal, 20261020, { factor: 1.5, minAmount: 40, lookback: 3 })).toEqual([]);
    // Without 7 days of history before it, a day is not judged.
    expect(anomalies(daily, cal, 20261113, { factor: 1.5, minAmount: 10, lookback: 3 })).toEqual([]);
  });
});

describe('components: realistic meter subcategories', () => {
  const rg = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-phonebill-prod/providers';
  const server = (n: string) => `${rg}/Microsoft.DBforPostgreSQL/flexibleServers/${n}`;
  const deployment: Deployment = {
    serverName: 'phonebill-postgresql-prod',
    replicaName: 'phonebill-postgresql-prod-replica',
    highAvailability: true,
    restorePrefixes: ['dbops-verify-'],
    restoreResourceIds: new Set([server('pitr-check-7').toLowerCase()]),
  };
  const cases: Array<[string, string, ReturnType<typeof allocate>]> = [
    [server('phonebill-postgresql-prod'), 'Azure Database for PostgreSQL Flexible Server General Purpose Dsv3 Series Compute', [['primaryCompute', 0.5], ['haStandby', 0.5]]],
    [server('Phonebill-PostgreSQL-Prod'), 'Az DB for PostgreSQL Flexible Server Storage', [['storage', 0.5], ['haStandby', 0.5]]],
    [server('phonebill-postgresql-prod'), 'Azure Database for PostgreSQL Flexible Server Backup Storage', [['backupStorage', 1]]],
    [server('phonebill-postgresql-prod'), 'Inter-Region', [['network', 1]]],
    [server('phonebill-postgresql-prod-replica'), 'Azure Database for PostgreSQL Flexible Server General Purpose Dsv3 Series Compute', [['replica', 1]]],
    [server('phonebill-postgresql-prod-replica'), 'Az DB for PostgreSQL Flexible Server Storage', [['replica', 1]]],
    [server('dbops-verify-20261129-0300'), 'Azure Database for PostgreSQL Flexible Server Burstable BS Series Compute', [['restoreServers', 1]]],
    [server('pitr-check-7'), 'Az DB for PostgreSQL Flexible Server Storage', [['restoreServers', 1]]],
    [server('someone-elses-server'), 'Azure Database for PostgreSQL Flexible Server General Purpose Dsv3 Series Compute', [['other', 1]]],
    [`${rg}/Microsoft.Network/privateEndpoints/pe-phonebill-postgresql`, 'Virtual Network Private Link', [['network', 1]]],
    [`${rg}/Microsoft.Network/privateDnsZones/privatelink.postgres.database.azure.com`, '', [['network', 1]]],
    [`${rg}/Microsoft.OperationalInsights/workspaces/log-phonebill-prod`, '', [['monitoring', 1]]],
    [`${rg}/microsoft.insights/metricalerts/cpu-over-80`, 'Alerts', [['monitoring', 1]]],
    [`${rg}/Microsoft.Storage/storageAccounts/stphonebillarchive`, 'General Block Blob v2', [['other', 1]]],
  ];
  it.each(cases)('%s · %s', (resourceId, meter, expected) => {
    expect(allocate(resourceId.toLowerCase(), meter, deployment)).toEqual(expected);
  });

  it('without HA the primary keeps its whole compute; without a replica name a second server is the replica', () => {
    const plain: Deployment = { ...deployment, highAvailability: false, replicaName: undefined };
    expect(allocate(server('phonebill-postgresql-prod'), 'Azure Database for PostgreSQL Flexible Server General Purpose Dsv3 Series Compute', plain)).toEqual([['primaryCompute', 1]]);
    expect(allocate(server('any-other-name'), 'Az DB for PostgreSQL Flexible Server Storage', plain)).toEqual([['replica', 1]]);
  });

  it('names a line by resource type, name and meter', () => {
    expect(lineLabel(server('pg-1').toLowerCase(), 'Az DB for PostgreSQL Flexible Server Storage')).toBe('flexibleservers/pg-1 · Az DB for PostgreSQL Flexible Server Storage');
    expect(lineLabel('', '')).toBe('(no resource) · (no meter subcategory)');
  });
});

describe('reading Cost Management answers', () => {
  it('finds columns by name in any order, accepts PreTaxCost and ISO dates, keeps the currency from the data', () => {
    const rows = parseCostTable({
      columns: [
        { name: 'UsageDate', type: 'Number' },
        { name: 'Currency', type: 'String' },
        { name: 'MeterSubCategory', type: 'String' },
        { name: 'PreTaxCost', type: 'Number' },
        { name: 'ResourceId', type: 'String' },
      ],
      rows: [
        [20261129, 'KRW', 'Az DB for PostgreSQL Flexible Server Storage', 1234.5, '/subscriptions/x/resourceGroups/RG/providers/Microsoft.DBforPostgreSQL/flexibleServers/PG'],
        ['2026-11-30T00:00:00', 'KRW', null, 10, null],
      ],
      pages: 1,
    });
    expect(rows).toEqual([
      { day: 20261129, cost: 1234.5, resourceId: '/subscriptions/x/resourcegroups/rg/providers/microsoft.dbforpostgresql/flexibleservers/pg', meter: 'Az DB for PostgreSQL Flexible Server Storage', currency: 'KRW' },
      { day: 20261130, cost: 10, resourceId: '', meter: '', currency: 'KRW' },
    ]);
  });

  it('says what is wrong with an answer it cannot read', () => {
    expect(() => parseCostTable({ columns: [{ name: 'UsageDate', type: 'Number' }], rows: [[20261129]], pages: 1 })).toThrow(/no cost column \(columns: UsageDate\)/);
    expect(() => parseCostTable({ columns: [{ name: 'Cost', type: 'Number' }, { name: 'UsageDate', type: 'Number' }], rows: [[1, 'yesterday']], pages: 1 })).toThrow(/row 1: UsageDate "yesterday"/);
    expect(parseCostTable({ columns: [], rows: [], pages: 1 })).toEqual([]);
  });

  it('formats money in the currency of the data, and never assumes one', () => {
    expect(moneyFormat('USD')(1384.2)).toBe('USD 1,384.20');
    expect(moneyFormat(null)(1384.2)).toBe('1,384.20');
  });

  it('sums rows per day', () => {
    expect([...dailyTotals([{ day: 1, cost: 1, resourceId: '', meter: '', currency: null }, { day: 1, cost: 2, resourceId: '', meter: '', currency: null }])]).toEqual([[1, 3]]);
  });
});
