import { z } from 'zod';
import { GUID, int, optionalString, setting, type Env } from '../settings.js';

const url = (example: string) => z.url({ protocol: /^https$/, message: `expected an absolute https URL, e.g. ${example}` });
const guid = () =>
  z
    .string()
    .regex(GUID, { message: 'expected a GUID, e.g. 00000000-0000-0000-0000-000000000000' })
    .optional();

/**
 * Where the Azure resources dbops manages live, and the endpoints that reach them. Endpoints
 * default to the public cloud; override them for a sovereign cloud (or the test emulator).
 */
export const azureSettings = {
  subscriptionId: setting({
    env: 'DBOPS_AZURE_SUBSCRIPTION_ID',
    doc: 'Subscription of the flexible server (and the default cost scope).',
    example: '00000000-0000-0000-0000-000000000000',
    schema: guid(),
  }),
  resourceGroup: setting({
    env: 'DBOPS_AZURE_RESOURCE_GROUP',
    doc: 'Resource group of the flexible server.',
    example: 'rg-phonebill-prod',
    schema: optionalString(),
  }),
  serverName: setting({
    env: 'DBOPS_AZURE_SERVER_NAME',
    doc: 'Name of the primary flexible server (not its host name).',
    example: 'phonebill-postgresql-prod',
    schema: optionalString(),
  }),
  replicaName: setting({
    env: 'DBOPS_AZURE_REPLICA_NAME',
    doc: 'Name of the read replica (Korea South), for lag metrics and promotion.',
    example: 'phonebill-postgresql-prod-replica',
    schema: optionalString(),
  }),
  location: setting({
    env: 'DBOPS_AZURE_LOCATION',
    doc: 'Region of the primary server; restored servers are created there.',
    default: 'koreacentral',
    schema: z.string().min(1),
  }),
  keyVaultUrl: setting({
    env: 'DBOPS_KEYVAULT_URL',
    doc: 'Key Vault holding the database passwords, e.g. https://kv-phonebill-prod.vault.azure.net.',
    example: 'https://kv-phonebill-prod.vault.azure.net',
    schema: url('https://kv-phonebill-prod.vault.azure.net').optional(),
  }),
  costScope: setting({
    env: 'DBOPS_COST_SCOPE',
    doc: 'Cost Management scope the cost check queries; when unset, the server\'s resource group (/subscriptions/<id>/resourceGroups/<group>).',
    example: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-phonebill-prod',
    schema: z
      .string()
      .regex(/^\/?(subscriptions|providers)\//i, { message: 'expected a scope path such as /subscriptions/<id>/resourceGroups/<group>' })
      .optional(),
  }),
  costApiVersion: setting({
    env: 'DBOPS_COST_API_VERSION',
    doc: 'Cost Management API version (the SDK\'s own default, 2022-10-01, lacks current behaviour; 2023-03-01 or newer).',
    default: '2023-03-01',
    schema: z.string().regex(/^20(2[3-9]|[3-9]\d)-\d\d-\d\d(-preview)?$/, { message: 'expected an API version of 2023-03-01 or newer' }),
  }),
  costMaxThrottleWaitSeconds: setting({
    env: 'DBOPS_COST_MAX_THROTTLE_WAIT_SECONDS',
    doc: 'Longest total time one Cost Management call may wait on 429 answers (the longest of the retry-after headers Cost Management sends) before giving up.',
    default: '120',
    schema: int(0, 1800),
  }),
  logAnalyticsWorkspaceId: setting({
    env: 'DBOPS_LOG_ANALYTICS_WORKSPACE_ID',
    doc: 'Log Analytics workspace (its GUID) receiving the server\'s PostgreSQL logs, for the security audit.',
    example: '00000000-0000-0000-0000-000000000000',
    schema: guid(),
  }),
  armEndpoint: setting({
    env: 'DBOPS_AZURE_ARM_ENDPOINT',
    doc: 'Azure Resource Manager endpoint (flexible servers, Cost Management, Resource Health).',
    default: 'https://management.azure.com',
    schema: url('https://management.azure.com'),
  }),
  monitorEndpoint: setting({
    env: 'DBOPS_AZURE_MONITOR_ENDPOINT',
    doc: 'Azure Monitor metrics endpoint of the server\'s region (https://<region>.metrics.monitor.azure.com).',
    default: 'https://koreacentral.metrics.monitor.azure.com',
    schema: url('https://koreacentral.metrics.monitor.azure.com'),
  }),
  replicaMonitorEndpoint: setting({
    env: 'DBOPS_AZURE_REPLICA_MONITOR_ENDPOINT',
    doc: "Azure Monitor metrics endpoint of the read replica's region (Korea South): metrics are read from the region the resource lives in.",
    default: 'https://koreasouth.metrics.monitor.azure.com',
    schema: url('https://koreasouth.metrics.monitor.azure.com'),
  }),
  logsEndpoint: setting({
    env: 'DBOPS_AZURE_LOGS_ENDPOINT',
    doc: 'Log Analytics query endpoint, including the API version path.',
    default: 'https://api.loganalytics.io/v1',
    schema: url('https://api.loganalytics.io/v1'),
  }),
  managedIdentityClientId: setting({
    env: 'DBOPS_AZURE_CLIENT_ID',
    doc: 'Client id of a user-assigned managed identity; unset uses the system-assigned identity (or your az login locally).',
    example: '00000000-0000-0000-0000-000000000000',
    schema: optionalString(),
  }),
  lroDeadlineMinutes: setting({
    env: 'DBOPS_AZURE_OPERATION_DEADLINE_MINUTES',
    doc: 'Longest a job waits in one invocation for an Azure long-running operation (restart, promote, delete) before it records the operation and lets a later run resume it.',
    default: '20',
    schema: int(1, 1440),
  }),
};

export type AzureSettingsSpecs = typeof azureSettings;

/** What each group of Azure operations needs, so a job can say which settings are missing. */
export const AZURE_AREAS = {
  server: ['subscriptionId', 'resourceGroup', 'serverName'],
  replica: ['subscriptionId', 'resourceGroup', 'serverName', 'replicaName'],
  cost: ['subscriptionId', 'resourceGroup'],
  keyVault: ['keyVaultUrl'],
  metrics: ['subscriptionId', 'resourceGroup', 'serverName'],
  logs: ['logAnalyticsWorkspaceId'],
} as const satisfies Record<string, ReadonlyArray<keyof AzureSettingsSpecs>>;
export type AzureArea = keyof typeof AZURE_AREAS;

/** Environment names of the settings `areas` need that `env` does not set. */
export function missingAzureSettings(env: Env, areas: readonly AzureArea[]): string[] {
  const out = new Set<string>();
  for (const area of areas) {
    for (const key of AZURE_AREAS[area]) {
      // A cost scope given outright needs neither subscription nor resource group.
      if (area === 'cost' && (env[azureSettings.costScope.env] ?? '').trim() !== '') continue;
      const spec = azureSettings[key];
      if ((env[spec.env] ?? '').trim() === '') out.add(spec.env);
    }
  }
  return [...out];
}

/** For a job's `requires(env)`: `requires: azureRequires('server', 'keyVault')`. */
export const azureRequires =
  (...areas: AzureArea[]) =>
  (env: Env): string[] =>
    missingAzureSettings(env, areas);
