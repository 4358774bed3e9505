import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureOperationError, SERVER_METRICS } from '../../src/platform/azure/index.js';
import { redact } from '../../src/platform/redact.js';
import { startAzureEmulator, type AzureEmulator } from '../../src/local-azure/index.js';

let emu: AzureEmulator;
beforeAll(async () => {
  emu = await startAzureEmulator();
});
afterAll(async () => {
  await emu?.close();
});

describe('Key Vault secrets through @azure/keyvault-secrets', () => {
  it('answers the first request with the bearer challenge, then serves set / get / versions / update', async () => {
    const azure = emu.services();
    const first = await azure.secrets.set('pg-app-password', 'first-value-0001', { contentType: 'password', tags: { role: 'pc_app_a' } });
    // The client's first request carries no token and gets the 401 challenge.
    const kv = emu.calls.filter((c) => c.operation === 'secrets.set');
    expect(kv[0]?.status).toBe(401);
    expect(kv.at(-1)?.status).toBe(200);

    const second = await azure.secrets.set('pg-app-password', 'second-value-0002', { expiresOn: new Date('2027-03-01T00:00:00Z') });
    expect((await azure.secrets.get('pg-app-password')).value).toBe('second-value-0002');
    expect((await azure.secrets.get('pg-app-password', first.properties.version)).value).toBe('first-value-0001');
    const versions = await azure.secrets.listVersions('pg-app-password');
    expect(versions.map((v) => v.version).sort()).toEqual([first.properties.version, second.properties.version].sort());
    expect(versions.find((v) => v.version === second.properties.version)?.expiresOn?.toISOString()).toBe('2027-03-01T00:00:00.000Z');

    const updated = await azure.secrets.updateProperties('pg-app-password', first.properties.version!, { enabled: false, tags: { state: 'previous' } });
    expect(updated.enabled).toBe(false);
    expect(updated.tags).toEqual({ state: 'previous' });
    // Values read or written are registered for redaction.
    expect(redact('value second-value-0002 leaked')).not.toContain('second-value-0002');

    const disabled = (await azure.secrets.get('pg-app-password', first.properties.version).catch((e: unknown) => e)) as AzureOperationError;
    expect(disabled).toBeInstanceOf(AzureOperationError);
    expect(disabled.status).toBe(403);
    expect(disabled.message).not.toContain('first-value-0001');
  });

  it('reports a missing secret readably', async () => {
    const err = (await emu.services().secrets.get('no-such-secret').catch((e: unknown) => e)) as AzureOperationError;
    expect(err.message).toMatch(/get secret on secret no-such-secret in https:\/\/127\.0\.0\.1:\d+ failed \(HTTP 404 SecretNotFound\)/);
  });

  it('refuses a request with a wrong token', async () => {
    const res = await emu.request('GET', '/secrets/x/?api-version=7.5', undefined, { authorization: 'Bearer wrong' });
    expect(res.status).toBe(401);
  });
});

describe('Azure Monitor metrics through @azure/monitor-query-metrics', () => {
  it('reads the server metrics the health check uses', async () => {
    const azure = emu.services();
    const id = azure.postgres.serverId();
    emu.metrics.setValues(id, 'cpu_percent', [35, 62, 91]);
    emu.metrics.setValues(id, 'active_connections', [120, 151], 'maximum');
    const replicaId = azure.postgres.serverId(emu.replicaName);
    emu.metrics.setValues(replicaId, 'physical_replication_delay_in_seconds', [4, 2]);

    const series = await azure.metrics.query({ metrics: SERVER_METRICS });
    expect(Object.keys(series).sort()).toEqual([...SERVER_METRICS].sort());
    expect(series.cpu_percent?.latest).toBe(91);
    expect(series.cpu_percent?.unit).toBe('Percent');
    expect(series.active_connections?.points.at(-1)?.maximum).toBe(151);
    expect(series.memory_percent?.points).toEqual([]);
    const request = emu.metrics.requests.at(-1);
    expect(request?.namespace).toBe('Microsoft.DBforPostgreSQL/flexibleServers');
    expect(request?.resourceIds).toEqual([id]);

    const lag = await azure.metrics.query({ metrics: ['physical_replication_delay_in_seconds'], resourceId: replicaId });
    expect(lag.physical_replication_delay_in_seconds?.latest).toBe(2);
  });

  it('names an unknown metric in its error', async () => {
    const err = (await emu.services().metrics.query({ metrics: ['cpu_percentage'] }).catch((e: unknown) => e)) as AzureOperationError;
    expect(err.message).toMatch(/read metrics cpu_percentage on pg-dbops-test failed \(HTTP 400 BadRequest\).*cpu_percentage/);
  });
});

describe('Log Analytics through @azure/monitor-query-logs', () => {
  it('returns the rows a test seeds for a KQL query, keyed by column', async () => {
    emu.logs.respond('AzureDiagnostics', {
      columns: [
        { name: 'TimeGenerated', type: 'datetime' },
        { name: 'user_name', type: 'string' },
        { name: 'client_ip', type: 'string' },
        { name: 'failures', type: 'long' },
      ],
      rows: [['2026-11-29T01:00:00Z', 'pc_app', '10.0.9.4', 6]],
    });
    const kql = 'AzureDiagnostics | where Category == "PostgreSQLLogs" | summarize failures = count() by user_name, client_ip';
    const result = await emu.services().logs.query(kql, { duration: 'P1D' });
    expect(result.partialError).toBeUndefined();
    expect(result.tables[0]?.rows).toEqual([{ TimeGenerated: new Date('2026-11-29T01:00:00Z'), user_name: 'pc_app', client_ip: '10.0.9.4', failures: 6 }]);
    expect(emu.logs.queries.at(-1)).toMatchObject({ workspaceId: emu.workspaceId, query: kql, timespan: 'P1D' });
  });
});

describe('Resource Health availability (ARM pipeline, no SDK)', () => {
  it('reads the current availability of the server', async () => {
    const azure = emu.services();
    expect((await azure.health.availability(azure.postgres.serverId())).availabilityState).toBe('Available');
    emu.health.set(azure.postgres.serverId(), { availabilityState: 'Degraded', reasonType: 'Unplanned', summary: 'Unplanned failover initiated' });
    const status = await azure.health.availability(azure.postgres.serverId());
    expect(status).toMatchObject({ availabilityState: 'Degraded', reasonType: 'Unplanned', summary: 'Unplanned failover initiated' });
  });
});
