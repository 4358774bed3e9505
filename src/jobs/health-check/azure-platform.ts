import type { AzureServices } from '../../platform/azure/index.js';
import type { PlatformMetricsSource } from './platform.js';

const REPLICA_METRIC = 'physical_replication_delay_in_seconds';

/**
 * Azure Monitor through the client layer: the server metrics from the primary, and the
 * replica's own delay metric (Azure publishes physical_replication_delay_in_seconds on the
 * replica, in its region). A replica whose metrics cannot be read is reported as missing data
 * rather than failing the primary's checks.
 */
export function azurePlatformMetrics(azure: AzureServices): PlatformMetricsSource {
  return {
    async latest(names) {
      const primaryNames = names.filter((n) => n !== REPLICA_METRIC);
      const out: Record<string, number | null> = Object.fromEntries(names.map((n) => [n, null]));
      const primary = await azure.metrics.query({ metrics: primaryNames, minutes: 30, intervalMinutes: 5, aggregations: ['Average', 'Maximum'] });
      for (const n of primaryNames) out[n] = primary[n]?.latest ?? null;
      const replica = azure.settings.replicaName;
      if (names.includes(REPLICA_METRIC) && replica) {
        try {
          const series = await azure.replicaMetrics.query({ metrics: [REPLICA_METRIC], minutes: 30, aggregations: ['Maximum'] });
          out[REPLICA_METRIC] = series[REPLICA_METRIC]?.latest ?? null;
        } catch {
          out[REPLICA_METRIC] = null;
        }
      } else if (names.includes(REPLICA_METRIC)) {
        delete out[REPLICA_METRIC];
      }
      return out;
    },
  };
}
