import { describe, expect, it } from 'vitest';
import { healthCheck } from '../../src/jobs/health-check/index.js';
import { registerJob } from '../../src/shared/job.js';
import { runJob } from '../../src/shared/runner/run-job.js';
import { useAzureTestbed } from '../support/testbed.js';

const job = registerJob(healthCheck);

describe('health-check platform metrics from Azure Monitor (emulator)', () => {
  const bed = useAzureTestbed();

  it('reports each metric above its threshold with the metric name and the plan threshold', async () => {
    const azure = bed.emu.services();
    const s = azure.settings;
    const id = (name: string) => `/subscriptions/${s.subscriptionId}/resourceGroups/${s.resourceGroup}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${name}`;
    const primary = id(s.serverName!);
    bed.emu.metrics.setValues(primary, 'cpu_percent', [40, 55, 91]);
    bed.emu.metrics.setValues(primary, 'memory_percent', [60, 70, 70]);
    bed.emu.metrics.setValues(primary, 'storage_percent', [76, 77, 78]);
    bed.emu.metrics.setValues(primary, 'disk_iops_consumed_percentage', [10, 12, 85]);
    bed.emu.metrics.setValues(primary, 'active_connections', [100, 120, 160]);
    bed.emu.metrics.setValues(primary, 'is_db_alive', [1, 1, 1]);
    bed.emu.metrics.setValues(id(s.replicaName!), 'physical_replication_delay_in_seconds', [5, 30, 420], 'maximum');
    const report = await runJob(job, { mode: 'daily' }, bed.deps({}, { azure }), { trigger: 'test' });
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
