import type { MetricsClient } from '@azure/monitor-query-metrics';
import { callAzure } from './errors.js';

/** The flexible-server platform metrics the health check reads (plan §6.1.1). */
export const SERVER_METRICS = [
  'cpu_percent',
  'memory_percent',
  'storage_percent',
  'disk_iops_consumed_percentage',
  'active_connections',
  'physical_replication_delay_in_seconds',
  'is_db_alive',
] as const;
export type ServerMetricName = (typeof SERVER_METRICS)[number] | (string & {});

export const FLEXIBLE_SERVER_NAMESPACE = 'Microsoft.DBforPostgreSQL/flexibleServers';

export type Aggregation = 'Average' | 'Maximum' | 'Minimum' | 'Total' | 'Count';

export interface MetricPoint {
  timeStamp: Date;
  average?: number;
  maximum?: number;
  minimum?: number;
  total?: number;
  count?: number;
}

export interface MetricSeries {
  name: string;
  unit: string;
  points: MetricPoint[];
  /** The newest point that has a value for the first requested aggregation, if any. */
  latest?: number;
}

export interface ServerMetrics {
  /** Metrics of one resource (the primary server unless `resourceId` is given) over the last `minutes`. */
  query(input: { metrics: readonly ServerMetricName[]; resourceId?: string; minutes?: number; intervalMinutes?: number; aggregations?: Aggregation[]; now?: Date }): Promise<Record<string, MetricSeries>>;
}

export function createServerMetrics(loadClient: () => Promise<MetricsClient>, defaultResourceId: string): ServerMetrics {
  return {
    query: ({ metrics, resourceId = defaultResourceId, minutes = 30, intervalMinutes = 5, aggregations = ['Average', 'Maximum'], now = new Date() }) =>
      callAzure(`read metrics ${metrics.join(', ')}`, resourceId.split('/').pop() ?? resourceId, async () => {
        const client = await loadClient();
        const results = await client.queryResources([resourceId], [...metrics], FLEXIBLE_SERVER_NAMESPACE, {
          startTime: new Date(now.getTime() - minutes * 60_000),
          endTime: now,
          interval: `PT${intervalMinutes}M`,
          aggregation: aggregations.map((a) => a.toLowerCase()).join(','),
        });
        const out: Record<string, MetricSeries> = {};
        const key = aggregations[0]!.toLowerCase() as keyof MetricPoint;
        for (const result of results) {
          for (const metric of result.metrics) {
            const points: MetricPoint[] = metric.timeseries.flatMap((ts) => (ts.data ?? []).map((d) => ({ ...d })));
            const withValue = points.filter((p) => typeof p[key] === 'number');
            const last = withValue[withValue.length - 1];
            out[metric.name] = { name: metric.name, unit: String(metric.unit), points, ...(last ? { latest: last[key] as number } : {}) };
          }
        }
        return out;
      }),
  };
}
