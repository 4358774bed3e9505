import { armError, type EmulatorCore } from './core.js';

export interface MetricPoint {
  timeStamp: string;
  average?: number;
  minimum?: number;
  maximum?: number;
  total?: number;
  count?: number;
}

/** Units Azure Monitor reports for the flexible-server metrics dbops reads. */
export const METRIC_UNITS: Record<string, string> = {
  cpu_percent: 'Percent',
  memory_percent: 'Percent',
  storage_percent: 'Percent',
  disk_iops_consumed_percentage: 'Percent',
  active_connections: 'Count',
  physical_replication_delay_in_seconds: 'Seconds',
  physical_replication_delay_in_bytes: 'Bytes',
  is_db_alive: 'Count',
};

export interface MetricsState {
  /** Sets a metric's points for a resource (ARM id, any case). */
  set(resourceId: string, metric: string, points: MetricPoint[]): void;
  /** Convenience: one point per value, 5 minutes apart, ending now. */
  setValues(resourceId: string, metric: string, values: number[], aggregation?: 'average' | 'maximum' | 'total'): void;
  readonly requests: Array<{ resourceIds: string[]; metricnames: string[]; namespace: string | null }>;
}

export interface LogsTableAnswer {
  name?: string;
  columns: Array<{ name: string; type: 'string' | 'datetime' | 'long' | 'int' | 'real' | 'bool' | 'dynamic' | (string & {}) }>;
  rows: unknown[][];
}

export interface LogsState {
  /** Answers queries that contain `match` (or match the RegExp / predicate) with this table; later rules win. */
  respond(match: string | RegExp | ((kql: string) => boolean), table: LogsTableAnswer): void;
  readonly queries: Array<{ workspaceId: string; query: string; timespan: unknown }>;
}

export interface HealthState {
  /** Sets the availability status Resource Health reports for a resource id. */
  set(resourceId: string, status: { availabilityState: 'Available' | 'Unavailable' | 'Degraded' | 'Unknown'; summary?: string; reasonType?: string; detailedStatus?: string; occuredTime?: string }): void;
}

export function installMetrics(core: EmulatorCore): MetricsState {
  const series = new Map<string, MetricPoint[]>();
  const k = (resourceId: string, metric: string) => `${resourceId.toLowerCase()}|${metric.toLowerCase()}`;
  const state: MetricsState = {
    set: (resourceId, metric, points) => void series.set(k(resourceId, metric), points),
    setValues(resourceId, metric, values, aggregation = 'average') {
      const end = Math.floor(Date.now() / 300_000) * 300_000;
      state.set(
        resourceId,
        metric,
        values.map((v, i) => ({ timeStamp: new Date(end - (values.length - 1 - i) * 300_000).toISOString(), [aggregation]: v })),
      );
    },
    requests: [],
  };
  core.addRoute({
    operation: 'metrics.getBatch',
    method: 'POST',
    path: '/subscriptions/{subscriptionId}/metrics:getBatch',
    handler: ({ body, query }) => {
      const resourceIds = ((body ?? {}) as { resourceids?: string[] }).resourceids ?? [];
      const names = (query.get('metricnames') ?? '').split(',').filter(Boolean);
      const namespace = query.get('metricnamespace');
      state.requests.push({ resourceIds, metricnames: names, namespace });
      const unknown = names.find((n) => !(n in METRIC_UNITS) && ![...series.keys()].some((key) => key.endsWith(`|${n.toLowerCase()}`)));
      if (unknown) return armError(400, 'BadRequest', `Failed to find metric configuration for provider: ${namespace}, resource type and metric name: ${unknown}. Valid metrics: ${Object.keys(METRIC_UNITS).join(',')}`);
      const starttime = query.get('starttime') ?? new Date(Date.now() - 3600_000).toISOString();
      const endtime = query.get('endtime') ?? new Date().toISOString();
      return {
        status: 200,
        body: {
          values: resourceIds.map((resourceId) => ({
            starttime,
            endtime,
            interval: query.get('interval') ?? 'PT1M',
            value: names.map((n) => ({
              id: `${resourceId}/providers/Microsoft.Insights/metrics/${n}`,
              type: 'Microsoft.Insights/metrics',
              name: { value: n, localizedValue: n },
              displayDescription: `${n} of the flexible server`,
              unit: METRIC_UNITS[n] ?? 'Unspecified',
              timeseries: [{ metadatavalues: [], data: series.get(k(resourceId, n)) ?? [] }],
              errorCode: 'Success',
            })),
            namespace: (namespace ?? '').toLowerCase(),
            resourceregion: 'koreacentral',
            resourceid: resourceId,
          })),
        },
      };
    },
  });
  return state;
}

export function installLogs(core: EmulatorCore): LogsState {
  const rules: Array<{ test: (kql: string) => boolean; table: LogsTableAnswer }> = [];
  const state: LogsState = {
    respond(match, table) {
      const test = typeof match === 'string' ? (q: string) => q.includes(match) : match instanceof RegExp ? (q: string) => match.test(q) : match;
      rules.unshift({ test, table });
    },
    queries: [],
  };
  core.addRoute({
    operation: 'logs.query',
    method: 'POST',
    path: '/v1/workspaces/{workspaceId}/query',
    handler: ({ params, body }) => {
      const input = (body ?? {}) as { query?: string; timespan?: unknown };
      const kql = input.query ?? '';
      state.queries.push({ workspaceId: params.workspaceId!, query: kql, timespan: input.timespan });
      if (!kql.trim()) return armError(400, 'BadArgumentError', 'The request had some invalid properties: query is empty.');
      const table = rules.find((r) => r.test(kql))?.table ?? { columns: [], rows: [] };
      return { status: 200, body: { tables: [{ name: table.name ?? 'PrimaryResult', columns: table.columns, rows: table.rows }] } };
    },
  });
  return state;
}

export function installHealth(core: EmulatorCore): HealthState {
  const statuses = new Map<string, Parameters<HealthState['set']>[1]>();
  core.addRoute({
    operation: 'resourceHealth.get',
    method: 'GET',
    path: '/{resourceId*}/providers/Microsoft.ResourceHealth/availabilityStatuses/current',
    handler: ({ params }) => {
      const resourceId = `/${params.resourceId!.replace(/^\//, '')}`;
      const s = statuses.get(resourceId.toLowerCase()) ?? { availabilityState: 'Available' as const, summary: 'There aren\'t any known Azure platform problems affecting this server.' };
      const now = new Date().toISOString();
      return {
        status: 200,
        body: {
          id: `${resourceId}/providers/Microsoft.ResourceHealth/availabilityStatuses/current`,
          name: 'current',
          type: 'Microsoft.ResourceHealth/AvailabilityStatuses',
          location: 'koreacentral',
          properties: {
            availabilityState: s.availabilityState,
            title: s.availabilityState,
            summary: s.summary ?? '',
            reasonType: s.reasonType ?? '',
            context: 'Platform Initiated',
            category: s.reasonType ?? 'Unplanned',
            reasonChronicity: 'Transient',
            detailedStatus: s.detailedStatus ?? '',
            occuredTime: s.occuredTime ?? now,
            reportedTime: now,
            rootCauseAttributionTime: s.occuredTime ?? now,
            resolutionETA: now,
            recommendedActions: [],
          },
        },
      };
    },
  });
  return { set: (resourceId, status) => void statuses.set(resourceId.toLowerCase(), status) };
}
