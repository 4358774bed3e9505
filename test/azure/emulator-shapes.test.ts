import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { azureExamplesDir } from '../support/azure-examples.js';
import { startAzureEmulator, type AzureEmulator } from '../../src/local-azure/index.js';
import { shapeDifferences, shapeOfExamples, type ShapeRules } from '../support/json-shape.js';

/**
 * The emulator's answers against the official examples (test/fixtures/azure-examples), key by
 * key and type by type, so it cannot drift.
 */
const example = (file: string): { responses: Record<string, { body?: unknown; headers?: Record<string, string> }> } =>
  JSON.parse(readFileSync(join(azureExamplesDir, file), 'utf8'));
const body = (file: string, status = '200') => example(file).responses[status]?.body;

let emu: AzureEmulator;
const api = (v: string) => `api-version=${v}`;
let serverPath: (name?: string) => string;

beforeAll(async () => {
  emu = await startAzureEmulator();
  serverPath = (name = emu.serverName) => `/subscriptions/${emu.subscriptionId}/resourceGroups/${emu.resourceGroup}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${name}`;
});
afterAll(async () => {
  await emu?.close();
});

function expectShape(actual: unknown, examples: unknown[], rules?: ShapeRules) {
  expect(shapeDifferences(actual, shapeOfExamples(...examples), rules)).toEqual([]);
}

// Documented in the 2025-08-01 specification, absent from its examples (which show HA disabled).
const serverRules: ShapeRules = { extra: ['$.properties.highAvailability.standbyAvailabilityZone', '$.value[].properties.highAvailability.standbyAvailabilityZone'] };

describe('the emulator answers in the shapes of the official examples', () => {
  it('flexible server GET (2025-08-01 ServersGet)', async () => {
    const res = await emu.request('GET', `${serverPath()}?${api('2025-08-01')}`);
    expect(res.status).toBe(200);
    expectShape(res.body, [body('arm-2025-08-01-ServersGet.json')], serverRules);
    expectShape(res.body, [body('arm-2024-08-01-ServerGet.json')], serverRules);
  });

  it('replicas list, backups list', async () => {
    const replicas = await emu.request('GET', `${serverPath()}/replicas?${api('2025-08-01')}`);
    const item = (body('arm-2024-08-01-ReplicasListByServer.json') as { value: unknown[] }).value[0];
    // 2024-08-01 replica items lack systemData and privateEndpointConnections, which 2025-08-01 servers carry.
    expectShape(replicas.body, [{ value: [item] }, { value: [body('arm-2025-08-01-ServersGet.json')] }], serverRules);
    const backups = await emu.request('GET', `${serverPath()}/backups?${api('2025-08-01')}`);
    expectShape(backups.body, [body('arm-2024-08-01-BackupListByServer.json')]);
  });

  it('servers list by resource group (2025-08-01 ServersListByResourceGroup)', async () => {
    emu.postgres.addServer({ name: 'pg-shape-listed', tags: { purpose: 'shape-check' } });
    const res = await emu.request('GET', `/subscriptions/${emu.subscriptionId}/resourceGroups/${emu.resourceGroup}/providers/Microsoft.DBforPostgreSQL/flexibleServers?${api('2025-08-01')}`);
    expect(res.status).toBe(200);
    // One page needs no nextLink; the list's items are servers (ServersGet), tags a free-form map, and replicas carry replicationState.
    expectShape(res.body, [body('arm-2025-08-01-ServersListByResourceGroup.json'), { value: [body('arm-2025-08-01-ServersGet.json')] }], {
      extra: [...(serverRules.extra ?? []), '$.value[].properties.replica.replicationState'],
      free: ['$.value[].tags'],
    });
    expect((res.body as { value: Array<{ name: string }> }).value.map((s) => s.name)).toEqual(expect.arrayContaining([emu.serverName, emu.replicaName, 'pg-shape-listed']));
    emu.postgres.servers.delete('pg-shape-listed');
  });

  it('long-running operations answer 202 with Azure-AsyncOperation and Location, like the examples', async () => {
    const headerNames = (file: string) => Object.keys(example(file).responses['202']?.headers ?? {}).map((h) => h.toLowerCase()).sort();
    const pitr = await emu.request('PUT', `${serverPath('pg-shape-restore')}?${api('2025-08-01')}`, example('arm-2025-08-01-ServersCreatePointInTimeRestore.json') && {
      location: 'koreacentral',
      properties: { createMode: 'PointInTimeRestore', sourceServerResourceId: serverPath(), pointInTimeUTC: new Date(Date.now() - 60_000).toISOString() },
    });
    const restart = await emu.request('POST', `${serverPath()}/restart?${api('2025-08-01')}`, { restartWithFailover: true, failoverMode: 'ForcedFailover' });
    const promote = await emu.request('PATCH', `${serverPath(emu.replicaName)}?${api('2025-08-01')}`, { properties: { replica: { promoteMode: 'Switchover', promoteOption: 'Planned' } } });
    const del = await emu.request('DELETE', `${serverPath('pg-shape-restore')}?${api('2025-08-01')}`);
    for (const [res, file] of [
      [pitr, 'arm-2025-08-01-ServersCreatePointInTimeRestore.json'],
      [restart, 'arm-2025-08-01-ServersRestartWithFailover.json'],
      [promote, 'arm-2025-08-01-ServersPromoteReplicaAsPlannedSwitchover.json'],
      [del, 'arm-2024-08-01-ServerDelete.json'],
    ] as const) {
      expect(res.status).toBe(202);
      for (const h of headerNames(file)) expect(res.headers[h], `${file}: ${h}`).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/subscriptions\/.*\/providers\/Microsoft\.DBforPostgreSQL\/locations\/[^/]+\/(azureAsyncOperation|operationResults)\//);
    }
    // The restored server, when done, has the shape of the PITR example's 200 body.
    await emu.settleOperations();
    const restored = await emu.request('GET', `${serverPath(emu.replicaName)}?${api('2025-08-01')}`);
    expectShape(restored.body, [body('arm-2025-08-01-ServersGet.json')], serverRules);
  });

  it('Cost Management query and forecast', async () => {
    emu.cost.query = { columns: [{ name: 'PreTaxCost', type: 'Number' }, { name: 'ResourceType', type: 'String' }, { name: 'UsageDate', type: 'Number' }, { name: 'Currency', type: 'String' }], rows: [[1.5, 'microsoft.dbforpostgresql/flexibleservers', 20261101, 'USD']] };
    emu.cost.forecast = { columns: [{ name: 'PreTaxCost', type: 'Number' }, { name: 'UsageDate', type: 'Number' }, { name: 'CostStatus', type: 'String' }, { name: 'Currency', type: 'String' }], rows: [[2.1, 20261130, 'Forecast', 'USD']] };
    const scope = `/subscriptions/${emu.subscriptionId}/resourceGroups/${emu.resourceGroup}`;
    const q = await emu.request('POST', `${scope}/providers/Microsoft.CostManagement/query?${api('2023-03-01')}`, example('cost-query-resourcegroup-grouping-2025-03-01.json') && { type: 'Usage', timeframe: 'TheLastMonth', dataset: { granularity: 'Daily' } });
    expectShape(q.body, [body('cost-query-subscription-2023-03-01.json'), body('cost-query-resourcegroup-grouping-2025-03-01.json')]);
    const f = await emu.request('POST', `${scope}/providers/Microsoft.CostManagement/forecast?${api('2023-03-01')}`, { type: 'Usage', timeframe: 'Custom' });
    expectShape(f.body, [body('cost-forecast-subscription-2025-03-01.json')]);
  });

  it('Resource Health availability status', async () => {
    const res = await emu.request('GET', `${serverPath()}/providers/Microsoft.ResourceHealth/availabilityStatuses/current?${api('2025-04-01')}`);
    expectShape(res.body, [body('resourcehealth-2025-04-01-AvailabilityStatus_GetByResource.json')]);
  });

  it('Key Vault secrets: set, get, versions, update', async () => {
    const set = await emu.request('PUT', `/secrets/shape-secret?${api('7.5')}`, { value: 'shape-value-123' });
    expectShape(set.body, [body('keyvault-7.5-SetSecret.json')]);
    const get = await emu.request('GET', `/secrets/shape-secret/?${api('7.5')}`);
    expectShape(get.body, [body('keyvault-7.5-GetSecret.json')]);
    const versions = await emu.request('GET', `/secrets/shape-secret/versions?${api('7.5')}`);
    // The service answers "nextLink": null on the last page.
    expectShape(versions.body, [body('keyvault-7.5-GetSecretVersions.json')], { nullable: ['$.nextLink'] });
    const version = ((set.body as { id: string }).id.split('/').pop())!;
    const updated = await emu.request('PATCH', `/secrets/shape-secret/${version}?${api('7.5')}`, { contentType: 'password', tags: { mytag: 'rotation' }, attributes: { enabled: true } });
    // Tags are a free-form map: the example's key is used so that the map compares.
    expectShape(updated.body, [body('keyvault-7.5-UpdateSecret.json')]);
  });

  it('Azure Monitor metrics batch and Log Analytics query', async () => {
    emu.metrics.set(serverPath(), 'cpu_percent', [
      { timeStamp: '2026-11-29T10:00:00Z', average: 12, minimum: 10, maximum: 15 },
      { timeStamp: '2026-11-29T10:05:00Z' },
    ]);
    const metrics = await emu.request('POST', `/subscriptions/${emu.subscriptionId}/metrics:getBatch?${api('2024-02-01')}&metricnames=cpu_percent&metricnamespace=Microsoft.DBforPostgreSQL/flexibleServers&aggregation=average,minimum,maximum&interval=PT5M`, { resourceids: [serverPath()] });
    expectShape(metrics.body, [body('monitor-2024-02-01-MetricBatchExample.json')]);
    emu.logs.respond('Usage', { columns: [{ name: 'Computer', type: 'string' }, { name: 'Quantity', type: 'real' }], rows: [['db1', 0.5]] });
    const logs = await emu.request('POST', `/v1/workspaces/${emu.workspaceId}/query`, { query: 'Usage | take 10', timespan: 'PT12H' });
    // The example's cells are all strings; the service sends each cell in its column's JSON type.
    expectShape(logs.body, [body('loganalytics-v1-la-post-example.json')], { free: ['$.tables[].rows[][]'] });
  });

  it('the shape check itself catches drift', () => {
    const expected = shapeOfExamples(body('arm-2025-08-01-ServersGet.json'));
    const drifted = structuredClone(body('arm-2025-08-01-ServersGet.json')) as { properties: Record<string, unknown> };
    delete drifted.properties.state;
    drifted.properties.storage = 'P10';
    drifted.properties.invented = true;
    expect(shapeDifferences(drifted, expected)).toEqual([
      '$.properties.storage: string where the example has object',
      '$.properties.state: missing',
      '$.properties.invented: not in the example',
    ]);
  });
});
