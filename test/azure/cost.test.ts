import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureThrottledError, type QueryDefinition } from '../../src/platform/azure/index.js';
import { startAzureEmulator, type AzureEmulator } from '../../src/local-azure/index.js';

let emu: AzureEmulator;
beforeAll(async () => {
  emu = await startAzureEmulator();
});
afterAll(async () => {
  await emu?.close();
});

const monthToDate: QueryDefinition = {
  type: 'ActualCost',
  timeframe: 'MonthToDate',
  dataset: {
    granularity: 'Daily',
    aggregation: { totalCost: { name: 'Cost', function: 'Sum' } },
    grouping: [{ type: 'Dimension', name: 'ResourceType' }],
  },
};

const rows = (n: number) => Array.from({ length: n }, (_, i) => [10 + i, 20261101 + i, 'USD']);

describe('Cost Management through @azure/arm-costmanagement', () => {
  it('queries with api-version 2023-03-01 (not the SDK default) and follows nextLink by POSTing the same body', async () => {
    emu.cost.pageSize = 4;
    emu.cost.query = { columns: [{ name: 'Cost', type: 'Number' }, { name: 'UsageDate', type: 'Number' }, { name: 'Currency', type: 'String' }], rows: rows(10) };
    const azure = emu.services();
    const table = await azure.cost.query(monthToDate);
    expect(table.pages).toBe(3);
    expect(table.rows).toHaveLength(10);
    expect(table.rows[9]).toEqual([19, 20261110, 'USD']);
    expect(table.columns.map((c) => c.name)).toEqual(['Cost', 'UsageDate', 'Currency']);
    const calls = emu.calls.filter((c) => c.operation === 'cost.query');
    expect(calls.map((c) => c.method)).toEqual(['POST', 'POST', 'POST']);
    expect(calls.every((c) => c.apiVersion === '2023-03-01')).toBe(true);
    const bodies = emu.cost.requests.filter((r) => r.kind === 'query');
    expect(bodies.map((r) => r.page)).toEqual([1, 2, 3]);
    expect(bodies[1]?.body).toEqual(bodies[0]?.body);
    expect(bodies[0]?.body).toMatchObject({ type: 'ActualCost', timeframe: 'MonthToDate', dataset: { granularity: 'Daily' } });
    // The default scope is the server's resource group.
    expect(bodies[0]?.scope).toBe(`subscriptions/${emu.subscriptionId}/resourceGroups/${emu.resourceGroup}`);
  });

  it('forecasts a custom period', async () => {
    emu.cost.pageSize = 1000;
    emu.cost.forecast = {
      columns: [{ name: 'Cost', type: 'Number' }, { name: 'UsageDate', type: 'Number' }, { name: 'CostStatus', type: 'String' }, { name: 'Currency', type: 'String' }],
      rows: [[52.5, 20261130, 'Forecast', 'USD']],
    };
    const table = await emu.services().cost.forecast({
      type: 'ActualCost',
      timeframe: 'Custom',
      timePeriod: { from: new Date('2026-11-29T00:00:00Z'), to: new Date('2026-11-30T23:59:59Z') },
      dataset: { granularity: 'Daily', aggregation: { totalCost: { name: 'Cost', function: 'Sum' } } },
      includeActualCost: false,
      includeFreshPartialCost: false,
    });
    expect(table.rows).toEqual([[52.5, 20261130, 'Forecast', 'USD']]);
    const sent = emu.cost.requests.filter((r) => r.kind === 'forecast').at(-1)?.body as { timePeriod: { from: string } };
    expect(sent.timePeriod.from).toBe('2026-11-29T00:00:00.000Z');
  });

  it('waits as the QPU header asks after a 429, then succeeds', async () => {
    emu.cost.query = { columns: [{ name: 'Cost', type: 'Number' }], rows: [[1]] };
    const waits: number[] = [];
    const throttle = emu.inject({ operation: 'cost.query', kind: 'throttle', qpuRetryAfterSeconds: 7, times: 2 });
    const azure = emu.services({ client: { sleep: async (ms) => void waits.push(ms) } });
    const table = await azure.cost.query(monthToDate);
    expect(table.rows).toEqual([[1]]);
    expect(throttle.hits).toBe(2);
    expect(waits).toEqual([7000, 7000]);
  });

  it('gives up with a clear error when the wait would pass the bound', async () => {
    const waits: number[] = [];
    emu.inject({ operation: 'cost.query', kind: 'throttle', qpuRetryAfterSeconds: 50, times: 5 });
    const azure = emu.services({ env: { DBOPS_COST_MAX_THROTTLE_WAIT_SECONDS: '60' }, client: { sleep: async (ms) => void waits.push(ms) } });
    const err = (await azure.cost.query(monthToDate).catch((e: unknown) => e)) as AzureThrottledError;
    emu.clearFaults();
    expect(err).toBeInstanceOf(AzureThrottledError);
    expect(err.status).toBe(429);
    expect(waits).toEqual([50_000]);
    expect(err.message).toMatch(/Cost Management query .* failed \(HTTP 429 TooManyRequests\): throttled 2 time\(s\).*60 s allowed \(DBOPS_COST_MAX_THROTTLE_WAIT_SECONDS/);
  });

  it('says which settings are missing for cost when neither scope nor resource group is set', () => {
    const azure = emu.services({ env: { DBOPS_AZURE_RESOURCE_GROUP: '' } });
    expect(azure.missing('cost')).toEqual(['DBOPS_AZURE_RESOURCE_GROUP']);
    expect(emu.services({ env: { DBOPS_AZURE_RESOURCE_GROUP: '', DBOPS_COST_SCOPE: '/subscriptions/x' } }).missing('cost')).toEqual([]);
  });
});

describe('Cost Management retry headers', () => {
  const headers = (h: Record<string, string>) => ({ get: (name: string) => h[name] });
  it('waits for the longest of the limits it names, else for Retry-After', async () => {
    const { retryAfterMs } = await import('../../src/platform/azure/qpu-retry.js');
    const p = 'x-ms-ratelimit-microsoft.costmanagement-';
    expect(retryAfterMs(headers({ [`${p}qpu-retry-after`]: '3', [`${p}entity-retry-after`]: '12', 'retry-after': '1' }))).toBe(12_000);
    expect(retryAfterMs(headers({ [`${p}tenant-retry-after`]: '5' }))).toBe(5_000);
    expect(retryAfterMs(headers({ [`${p}clienttype-retry-after`]: '0.5' }))).toBe(500);
    expect(retryAfterMs(headers({ 'retry-after': '7' }))).toBe(7_000);
    expect(retryAfterMs(headers({}))).toBeUndefined();
  });
});
