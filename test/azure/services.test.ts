import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { azureRequires, getAzure } from '../../src/platform/azure/index.js';
import { defineJob } from '../../src/shared/job.js';
import { memoryLogger } from '../../src/platform/log.js';
import { runJob } from '../../src/shared/runner/run-job.js';
import { buildRuntime, providers } from '../../src/runtime.js';
import { settingsCatalog } from '../../src/catalog.js';
import { startAzureEmulator, type AzureEmulator } from '../../src/local-azure/index.js';
import { createTestDatabase, testDeps, type TestDatabase } from '../support/db.js';

let emu: AzureEmulator;
let db: TestDatabase;
beforeAll(async () => {
  [emu, db] = await Promise.all([startAzureEmulator(), createTestDatabase({ prefix: 'azure_services' })]);
});
afterAll(async () => {
  await Promise.all([emu?.close(), db?.drop()]);
});

/** A job shaped like the real ones: Azure only through ctx.services. */
const serverStateJob = defineJob({
  name: 'azure-probe',
  title: 'Azure probe',
  description: 'test job',
  schedules: [],
  params: z.object({}).strict(),
  requires: azureRequires('server'),
  async run(ctx) {
    const { azure, missing } = getAzure(ctx.services, 'server');
    if (!azure) return { status: 'skipped', summary: `Azure not configured: set ${missing.join(', ')}` };
    const server = await azure.postgres.getServer();
    return { summary: `${server.name} is ${server.state}`, data: { fqdn: server.fullyQualifiedDomainName } };
  },
});

describe('the azure service, as jobs receive it', () => {
  it('reaches a job through testDeps services, and an Azure failure becomes a readable failed report without the token', async () => {
    const report = await runJob(serverStateJob, {}, testDeps(db, { services: { azure: emu.services() } }), { trigger: 'test' });
    expect(report.status).toBe('ok');
    expect(report.summary).toBe(`${emu.serverName} is Ready`);

    emu.inject({ operation: 'servers.get', kind: 'error', status: 403, code: 'AuthorizationFailed', message: "The client does not have authorization to perform action 'Microsoft.DBforPostgreSQL/flexibleServers/read'." });
    const deps = testDeps(db, { services: { azure: emu.services() } });
    const failed = await runJob(serverStateJob, {}, deps, { trigger: 'test' });
    expect(failed.status).toBe('failed');
    expect(failed.summary).toMatch(/get server on flexible server pg-dbops-test failed \(HTTP 403 AuthorizationFailed\).*grant it/);
    const token = (await emu.credential.getToken('x'))!.token;
    expect(JSON.stringify(failed)).not.toContain(token);
    expect((deps.log as unknown as { lines: string[] }).lines?.join('\n') ?? '').not.toContain(token);
  });

  it('is provided by createRuntime from the settings, and says which are missing', () => {
    const env = { DATABASE_URL: db.url, DBOPS_AZURE_SUBSCRIPTION_ID: emu.subscriptionId };
    const runtime = buildRuntime(providers, { env, log: memoryLogger() });
    const access = getAzure(runtime.services ?? {}, 'server', 'keyVault');
    expect(access.azure).toBeUndefined();
    expect(access.missing).toEqual(['DBOPS_AZURE_RESOURCE_GROUP', 'DBOPS_AZURE_SERVER_NAME', 'DBOPS_KEYVAULT_URL']);
    expect(serverStateJob.requires?.(env)).toEqual(['DBOPS_AZURE_RESOURCE_GROUP', 'DBOPS_AZURE_SERVER_NAME']);
    const full = getAzure(buildRuntime(providers, { env: { ...env, ...emu.env }, log: memoryLogger() }).services ?? {}, 'server', 'keyVault', 'cost', 'metrics', 'logs', 'replica');
    expect(full.missing).toEqual([]);
    expect(full.azure?.settings.costApiVersion).toBe('2023-03-01');
  });

  it('a malformed Azure setting makes the service unavailable with the reason, without breaking the runtime', () => {
    const runtime = buildRuntime(providers, { env: { DATABASE_URL: db.url, DBOPS_AZURE_ARM_ENDPOINT: 'http://management.azure.com' }, log: memoryLogger() });
    const access = getAzure(runtime.services ?? {}, 'server');
    expect(access.azure).toBeUndefined();
    expect(access.missing[0]).toMatch(/DBOPS_AZURE_ARM_ENDPOINT="http:\/\/management.azure.com" is invalid: expected an absolute https URL/);
  });

  it('the Azure settings are in the settings catalog (README, sample settings)', () => {
    const azure = settingsCatalog().filter((e) => e.group === 'azure').map((e) => e.spec.env);
    expect(azure).toEqual(expect.arrayContaining(['DBOPS_AZURE_SUBSCRIPTION_ID', 'DBOPS_AZURE_ARM_ENDPOINT', 'DBOPS_KEYVAULT_URL', 'DBOPS_COST_SCOPE', 'DBOPS_LOG_ANALYTICS_WORKSPACE_ID']));
  });

  it('the run-wide certificate is trusted through NODE_EXTRA_CA_CERTS too (clients built without tlsCa, plain fetch)', async () => {
    expect(process.env.NODE_EXTRA_CA_CERTS).toBeTruthy();
    const res = await fetch(`${emu.endpoint}/secrets/any/?api-version=7.5`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer authorization="[^"]+", resource="[^"]+"$/);
    const azure = emu.services({ client: { tlsCa: undefined } });
    expect((await azure.postgres.getServer()).name).toBe(emu.serverName);
  });
});
