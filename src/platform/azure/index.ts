/** The Azure client layer: import from here. SDKs load lazily, on the first call that needs them. */
export { createAzureServices, getAzure, azureServiceProvider, type AzureServices, type AzureSettings, type AzureAccess } from './services.js';
export { azureCredential } from './credential.js';
export { azureSettings, azureRequires, missingAzureSettings, AZURE_AREAS, type AzureArea } from './settings.js';
export { AzureOperationError, AzureThrottledError, azureError, callAzure } from './errors.js';
export type { ClientFactoryOptions } from './options.js';
export type { FlexibleServers, LongOperation, LongOperationKind, Server, ServerBackup, ServerCoordinates, PromoteMode, PromoteOption } from './postgres.js';
export type { CostManagement, CostTable, CostColumn, QueryDefinition, ForecastDefinition } from './cost.js';
export type { KeyVaultSecrets, KeyVaultSecret, SecretProperties, SecretUpdate } from './secrets.js';
export { SERVER_METRICS, FLEXIBLE_SERVER_NAMESPACE, type ServerMetrics, type MetricSeries, type MetricPoint, type ServerMetricName, type Aggregation } from './metrics.js';
export type { LogAnalytics, LogQueryResult, LogTable } from './logs.js';
export type { ResourceHealth, AvailabilityStatus } from './health.js';
export { QPU_RETRY_HEADER } from './qpu-retry.js';
