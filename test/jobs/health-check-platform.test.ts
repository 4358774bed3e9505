import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthCheck } from '../../src/jobs/health-check/index.js';
import { registerJob } from '../../src/shared/job.js';
import { runJob } from '../../src/shared/runner/run-job.js';
import { startAzureEmulator, type AzureEmulator } from '../support/azure-emulator/index.js';
import { createTestDatabase, testDeps, type TestDatabase } from '../support/db.js';

const job = registerJob(healthCheck);

describe('health-check platform metrics from Azure Monitor (emulator)', () => {
  let db: TestDatabase;
  let emu: AzureEmulator;
  beforeAll(async () => {
    db = await createTestDatabase();
    emu = await startAzureEmulator();
  });
  afterAll(async () => {
    await emu.close();
    await db.drop();
  });

  it('reports each metric above its threshold with the metric name and the plan threshold', async () => {
    const azure = emu.services();
    const s = azure.settings;
    const id = (name: string) => `/subscriptions/${s.subscriptionId}/resourceGroups/${s.resourceGroup}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${name}`;
    const primary = id(s.serverName!);
    emu.metrics.setValues(primary, 'cpu_percent', [40, 55, 91]);
    emu.metrics.setValues(primary, 'memory_percent', [60, 70, 70]);
    emu.metrics.setValues(primary, 'storage_percent', [76, 77, 78]);
    emu.metrics.setValues(primary, 'disk_iops_consumed_percentage', [10, 12, 85]);
    emu.metrics.setValues(primary, 'active_connections', [100, 120, 160]);
    emu.metrics.setValues(primary, 'is_db_alive', [1, 1, 1]);
    emu.metrics.setValues(id(s.replicaName!), 'physical_replication_delay_in_seconds', [5, 30, 420], 'maximum');
    const report = await runJob(job, { mode: 'daily' }, testDeps(db, { env: emu.env, services: { azure } }), { trigger: 'test' });
    const platform = Object.fromEntries(report.findings.filter((f) => f.check.startsWith('platform.')).map((f) => [f.check, [f.severity, f.value, f.threshold]]));
    expect(platform).toMatchObject({
      'platform.cpu_percent': ['warning', 91, 80],
      'platform.memory_percent': ['info', 70, 85],
      'platform.storage_percent': ['warning', 78, 75],
      'platform.disk_iops_consumed_percentage': ['warning', 85, 80],
      'platform.active_connections': ['critical', 160, 150],
      'platform.physical_replication_delay_in_seconds': ['critical', 420, 300],
    });
    expect(report.status).toBe('critical');
  });
});
