import type { TokenCredential } from '@azure/core-auth';
import { memoizeUntilRejected } from '../../shared/async.js';
import type { JobServices } from '../../shared/job.js';
import type { ServiceProvider } from '../../shared/runner/runtime.js';
import { errorMessage } from '../redact.js';
import { readSettings, SettingsError, type Env, type SettingsOf } from '../settings.js';
import { createCostManagement, type CostManagement } from './cost.js';
import { azureCredential } from './credential.js';
import { AzureOperationError } from './errors.js';
import { createResourceHealth, type ResourceHealth } from './health.js';
import { createLogAnalytics, type LogAnalytics } from './logs.js';
import { createServerMetrics, type ServerMetrics } from './metrics.js';
import { pipelineOptions, type ClientFactoryOptions } from './options.js';
import { createFlexibleServers, type FlexibleServers } from './postgres.js';
import { qpuRetryPolicy } from './qpu-retry.js';
import { createKeyVaultSecrets, type KeyVaultSecrets } from './secrets.js';
import { azureSettings, missingAzureSettings, type AzureArea } from './settings.js';

export type AzureSettings = SettingsOf<typeof azureSettings>;

/**
 * Every Azure operation a job may use. Nothing here loads an SDK until a method is called, and
 * each area only loads its own SDK. An area whose settings are missing throws a message that
 * names them; check first with `getAzure(ctx.services, ...areas)`.
 */
export interface AzureServices {
  readonly settings: AzureSettings;
  /** Settings the given areas need that are not set. */
  missing(...areas: AzureArea[]): string[];
  readonly postgres: FlexibleServers;
  readonly cost: CostManagement;
  readonly secrets: KeyVaultSecrets;
  readonly metrics: ServerMetrics;
  /** The read replica's metrics, read through its own region's endpoint (its lag is published there). */
  readonly replicaMetrics: ServerMetrics;
  readonly logs: LogAnalytics;
  readonly health: ResourceHealth;
}

declare module '../../shared/job.js' {
  interface JobServices {
    /** Every Azure operation; `{ unavailable }` when an Azure setting is malformed. Read it with getAzure. */
    azure?: AzureServices | { unavailable: string };
  }
}

export function createAzureServices(env: Env, options: ClientFactoryOptions = {}): AzureServices {
  const settings = readSettings(azureSettings, env);
  const credential: TokenCredential = options.credential ?? azureCredential(env);
  const common = pipelineOptions(options);
  const arm = settings.armEndpoint.replace(/\/$/, '');
  const missing = (...areas: AzureArea[]) => missingAzureSettings(env, areas);
  const need = (area: AzureArea) => {
    const gaps = missing(area);
    if (gaps.length) throw new AzureOperationError(`use ${area}`, 'Azure', undefined, 'NotConfigured', `set ${gaps.join(', ')}.`);
  };
  const coordinates = {
    subscriptionId: settings.subscriptionId ?? '',
    resourceGroup: settings.resourceGroup ?? '',
    serverName: settings.serverName ?? '',
    location: settings.location,
    ...(settings.replicaName ? { replicaName: settings.replicaName } : {}),
  };

  const postgresClient = memoizeUntilRejected(async () => {
    need('server');
    const { PostgreSQLManagementFlexibleServerClient } = await import('@azure/arm-postgresql-flexible');
    return new PostgreSQLManagementFlexibleServerClient(credential, coordinates.subscriptionId, { endpoint: arm, $host: arm, ...common });
  });
  const costClient = memoizeUntilRejected(async () => {
    need('cost');
    const { CostManagementClient } = await import('@azure/arm-costmanagement');
    const client = new CostManagementClient(credential, { endpoint: arm, $host: arm, apiVersion: settings.costApiVersion, ...common });
    client.pipeline.addPolicy(
      qpuRetryPolicy({
        maxTotalWaitMs: settings.costMaxThrottleWaitSeconds * 1000,
        ...(options.sleep ? { sleep: options.sleep } : {}),
        onWait: (ms, attempt) => options.log?.warn('Cost Management throttled; waiting as asked', { waitMs: ms, attempt }),
      }),
      { phase: 'Retry' },
    );
    return client;
  });
  const secretClient = memoizeUntilRejected(async () => {
    need('keyVault');
    const { SecretClient } = await import('@azure/keyvault-secrets');
    const vault = new URL(settings.keyVaultUrl ?? '');
    // The challenge check compares the vault's domain with the token audience; a loopback
    // vault (the test emulator) has no such domain. Real vault URLs keep the check.
    const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(vault.hostname);
    return new SecretClient(vault.toString(), credential, { ...common, ...(loopback ? { disableChallengeResourceVerification: true } : {}) });
  });
  const metricsClient = memoizeUntilRejected(async () => {
    need('metrics');
    const { MetricsClient } = await import('@azure/monitor-query-metrics');
    return new MetricsClient(settings.monitorEndpoint, credential, common);
  });
  const replicaMetricsClient = memoizeUntilRejected(async () => {
    need('replica');
    const { MetricsClient } = await import('@azure/monitor-query-metrics');
    return new MetricsClient(settings.replicaMonitorEndpoint, credential, common);
  });
  const logsClient = memoizeUntilRejected(async () => {
    need('logs');
    const { LogsQueryClient } = await import('@azure/monitor-query-logs');
    return new LogsQueryClient(credential, { endpoint: settings.logsEndpoint, ...common });
  });

  const flexible = createFlexibleServers(postgresClient, coordinates, { ...options, defaultDeadlineMs: settings.lroDeadlineMinutes * 60_000 });
  const costScope = settings.costScope ?? `/subscriptions/${coordinates.subscriptionId}/resourceGroups/${coordinates.resourceGroup}`;
  return {
    settings,
    missing,
    postgres: flexible,
    cost: createCostManagement(costClient, costScope.replace(/^\//, '')),
    secrets: createKeyVaultSecrets(secretClient, settings.keyVaultUrl ?? ''),
    metrics: createServerMetrics(metricsClient, flexible.serverId()),
    replicaMetrics: createServerMetrics(replicaMetricsClient, settings.replicaName ? flexible.serverId(settings.replicaName) : ''),
    logs: createLogAnalytics(logsClient, settings.logAnalyticsWorkspaceId ?? ''),
    health: createResourceHealth(postgresClient, arm),
  };
}

export type AzureAccess = { azure: AzureServices; missing: [] } | { azure: undefined; missing: string[] };

/**
 * The Azure services a job was given, if every setting the named areas need is set:
 * `const { azure, missing } = getAzure(ctx.services, 'server');
 *  if (!azure) return { status: 'skipped', summary: `Azure not configured: set ${missing.join(', ')}` };`
 */
export function getAzure(services: JobServices, ...areas: AzureArea[]): AzureAccess {
  const candidate = services.azure;
  if (!candidate) return { azure: undefined, missing: ['(no Azure service in this runtime)'] };
  if ('unavailable' in candidate) return { azure: undefined, missing: [candidate.unavailable] };
  const gaps = candidate.missing(...areas);
  return gaps.length ? { azure: undefined, missing: gaps } : { azure: candidate, missing: [] };
}

/** The runtime's provider: cheap (reads settings; SDKs load on first call), on the runtime's one credential. */
export const azureServiceProvider: ServiceProvider = ({ env, log, credential, azureClient }) => {
  try {
    return { azure: createAzureServices(env, { ...azureClient, log, credential }) };
  } catch (err) {
    // A malformed Azure setting must not stop jobs that never touch Azure.
    const reason = err instanceof SettingsError ? err.problems.join('; ') : errorMessage(err);
    log.warn('Azure services unavailable', { reason });
    return { azure: { unavailable: reason } };
  }
};
