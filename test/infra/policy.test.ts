import { beforeAll, describe, expect, it } from 'vitest';
import { DEV, MAIN, PROD, loadSources, runChecks, type CheckName, type Sources } from './policy.js';

const sources = loadSources();
let baseline: Record<CheckName, string[]>;

beforeAll(async () => {
  baseline = await runChecks(sources);
});

describe('the templates follow the installation plan and the security rules', () => {
  const names: CheckName[] = [
    'syntax',
    'primaryServer',
    'replica',
    'database',
    'serverParameters',
    'metricAlerts',
    'alertWiring',
    'budget',
    'functionApp',
    'rolesAndEvents',
    'devIsCheap',
    'secrets',
    'descriptions',
    'locations',
    'planPasswords',
    'bicepConfig',
    'apiVersions',
  ];
  it.each(names)('%s', (name) => {
    expect(baseline[name]).toEqual([]);
  });
});

const POSTGRES = 'infra/bicep/modules/postgres.bicep';
const NETWORK = 'infra/bicep/modules/network.bicep';
const BUDGET = 'infra/bicep/modules/budget.bicep';
const ALERTS = 'infra/bicep/modules/alerts.bicep';
const EVENTGRID = 'infra/bicep/modules/eventgrid.bicep';
const KEYVAULT = 'infra/bicep/modules/keyvault.bicep';

interface Mutation {
  why: string;
  file: string;
  from: string;
  to: string;
  check: CheckName;
}

const alertRule = (metric: string, threshold: number) => `metricName: '${metric}'\n    operator: 'GreaterThan'\n    threshold: ${threshold}`;

// Each row changes one value the plan fixes; the named check must notice.
const mutations: Mutation[] = [
  { why: 'HA mode', file: PROD, from: "param highAvailabilityMode = 'ZoneRedundant'", to: "param highAvailabilityMode = 'SameZone'", check: 'primaryServer' },
  { why: 'primary zone', file: PROD, from: "param availabilityZone = '1'", to: "param availabilityZone = '3'", check: 'primaryServer' },
  { why: 'standby zone', file: PROD, from: "param standbyAvailabilityZone = '2'", to: "param standbyAvailabilityZone = '3'", check: 'primaryServer' },
  { why: 'backup retention', file: PROD, from: 'param backupRetentionDays = 35', to: 'param backupRetentionDays = 7', check: 'primaryServer' },
  { why: 'geo-redundant backup', file: PROD, from: "param geoRedundantBackup = 'Enabled'", to: "param geoRedundantBackup = 'Disabled'", check: 'primaryServer' },
  { why: 'PostgreSQL version', file: PROD, from: "param postgresVersion = '14'", to: "param postgresVersion = '16'", check: 'primaryServer' },
  { why: 'primary SKU', file: PROD, from: "param skuName = 'Standard_D4s_v3'", to: "param skuName = 'Standard_D8s_v3'", check: 'primaryServer' },
  { why: 'primary tier', file: PROD, from: "param skuTier = 'GeneralPurpose'", to: "param skuTier = 'MemoryOptimized'", check: 'primaryServer' },
  { why: 'storage size', file: PROD, from: 'param storageSizeGB = 256', to: 'param storageSizeGB = 128', check: 'primaryServer' },
  { why: 'storage auto-grow', file: PROD, from: "param storageAutoGrow = 'Enabled'", to: "param storageAutoGrow = 'Disabled'", check: 'primaryServer' },
  { why: 'Premium SSD', file: POSTGRES, from: "type: 'Premium_LRS'", to: "type: 'PremiumV2_LRS'", check: 'primaryServer' },
  { why: 'public access', file: POSTGRES, from: "publicNetworkAccess: 'Disabled'\n    }\n    dataEncryption: primaryEncryption", to: "publicNetworkAccess: 'Enabled'\n    }\n    dataEncryption: primaryEncryption", check: 'primaryServer' },
  { why: 'Entra auth', file: POSTGRES, from: "activeDirectoryAuth: 'Enabled'", to: "activeDirectoryAuth: 'Disabled'", check: 'primaryServer' },
  { why: 'password auth in prod', file: PROD, from: "param passwordAuth = 'Disabled'", to: "param passwordAuth = 'Enabled'", check: 'primaryServer' },
  { why: 'customer-managed key', file: PROD, from: 'param useCustomerManagedKey = true', to: 'param useCustomerManagedKey = false', check: 'primaryServer' },
  { why: 'replica deployed', file: PROD, from: 'param deployReplica = true', to: 'param deployReplica = false', check: 'replica' },
  { why: 'replica SKU', file: PROD, from: "param replicaSkuName = 'Standard_D4s_v3'", to: "param replicaSkuName = 'Standard_D2s_v3'", check: 'replica' },
  { why: 'replica region', file: PROD, from: "param replicaLocation = 'koreasouth'", to: "param replicaLocation = 'japaneast'", check: 'replica' },
  { why: 'database name', file: PROD, from: "param databaseName = 'product_change_db'", to: "param databaseName = 'postgres'", check: 'database' },
  { why: 'TLS minimum (value)', file: PROD, from: "param sslMinProtocolVersion = 'TLSv1.3'", to: "param sslMinProtocolVersion = 'TLSv1.2'", check: 'serverParameters' },
  { why: 'TLS minimum (no longer a parameter)', file: MAIN, from: 'ssl_min_protocol_version: sslMinProtocolVersion\n  password_encryption', to: "ssl_min_protocol_version: 'TLSv1.3'\n  password_encryption", check: 'serverParameters' },
  { why: 'require_secure_transport', file: MAIN, from: "require_secure_transport: 'on'", to: "require_secure_transport: 'off'", check: 'serverParameters' },
  { why: 'pg_stat_statements preload', file: MAIN, from: "shared_preload_libraries: 'pg_stat_statements'", to: "shared_preload_libraries: 'pg_cron'", check: 'serverParameters' },
  { why: 'log_statement', file: MAIN, from: "log_statement: 'all'", to: "log_statement: 'ddl'", check: 'serverParameters' },
  { why: 'log_connections', file: MAIN, from: "log_connections: 'on'", to: "log_connections: 'off'", check: 'serverParameters' },
  { why: 'log_min_duration_statement', file: MAIN, from: "log_min_duration_statement: '1000'", to: "log_min_duration_statement: '5000'", check: 'serverParameters' },
  { why: 'idle in transaction timeout', file: MAIN, from: "idle_in_transaction_session_timeout: '1800000'", to: "idle_in_transaction_session_timeout: '0'", check: 'serverParameters' },
  { why: 'max_connections', file: MAIN, from: "max_connections: '200'", to: "max_connections: '500'", check: 'serverParameters' },
  { why: 'work_mem', file: MAIN, from: "  work_mem: '32768'", to: "  work_mem: '4096'", check: 'serverParameters' },
  { why: 'shared_buffers', file: MAIN, from: "shared_buffers: '524288'", to: "shared_buffers: '4194304'", check: 'serverParameters' },
  { why: 'track_functions', file: MAIN, from: "track_functions: 'all'", to: "track_functions: 'none'", check: 'serverParameters' },
  { why: 'CPU threshold', file: MAIN, from: alertRule('cpu_percent', 80), to: alertRule('cpu_percent', 90), check: 'metricAlerts' },
  { why: 'memory threshold', file: MAIN, from: alertRule('memory_percent', 85), to: alertRule('memory_percent', 95), check: 'metricAlerts' },
  { why: 'storage threshold', file: MAIN, from: alertRule('storage_percent', 75), to: alertRule('storage_percent', 90), check: 'metricAlerts' },
  { why: 'IOPS threshold', file: MAIN, from: alertRule('disk_iops_consumed_percentage', 80), to: alertRule('disk_iops_consumed_percentage', 95), check: 'metricAlerts' },
  { why: 'connections threshold', file: MAIN, from: alertRule('active_connections', 150), to: alertRule('active_connections', 300), check: 'metricAlerts' },
  { why: 'replica lag threshold', file: MAIN, from: alertRule('physical_replication_delay_in_seconds', 300), to: alertRule('physical_replication_delay_in_seconds', 600), check: 'metricAlerts' },
  { why: "plan's IOPS name is not an Azure metric", file: MAIN, from: "metricName: 'disk_iops_consumed_percentage'", to: "metricName: 'iops_percent'", check: 'metricAlerts' },
  { why: "plan's replica lag name is not an Azure metric", file: MAIN, from: "metricName: 'physical_replication_delay_in_seconds'", to: "metricName: 'replica_lag_seconds'", check: 'metricAlerts' },
  { why: 'alert operator', file: MAIN, from: alertRule('cpu_percent', 80), to: "metricName: 'cpu_percent'\n    operator: 'LessThan'\n    threshold: 80", check: 'metricAlerts' },
  { why: 'alert window Azure refuses', file: MAIN, from: "windowSize: 'PT15M'", to: "windowSize: 'PT10M'", check: 'metricAlerts' },
  { why: 'common alert schema', file: ALERTS, from: "useCommonAlertSchema: true\n  }\n] : []", to: "useCommonAlertSchema: false\n  }\n] : []", check: 'alertWiring' },
  { why: 'Resource Health alert', file: ALERTS, from: "equals: 'ResourceHealth'", to: "equals: 'Administrative'", check: 'alertWiring' },
  { why: 'budget amount', file: PROD, from: 'param budgetAmount = 1600', to: 'param budgetAmount = 1400', check: 'budget' },
  { why: 'forecast notification', file: BUDGET, from: "thresholdType: 'Forecasted'", to: "thresholdType: 'Actual'", check: 'budget' },
  { why: 'no forecast thresholds', file: PROD, from: 'param budgetForecastThresholds = [\n  100\n]', to: 'param budgetForecastThresholds = []', check: 'budget' },
  { why: 'Node version', file: MAIN, from: "nodeVersion: '22'", to: "nodeVersion: '20'", check: 'functionApp' },
  { why: 'Entra sign-in for dbops', file: MAIN, from: "DBOPS_PG_AUTH: 'entra'", to: "DBOPS_PG_AUTH: 'password'", check: 'functionApp' },
  { why: 'missing app setting', file: MAIN, from: '      DBOPS_ALERT_LANGUAGE: alertLanguage\n', to: '', check: 'functionApp' },
  { why: 'notification language', file: PROD, from: "param alertLanguage = 'ko'", to: "param alertLanguage = 'en'", check: 'functionApp' },
  { why: 'failover operation that does not exist', file: MAIN, from: "  'Microsoft.DBforPostgreSQL/flexibleServers/write'\n]", to: "  'Microsoft.DBforPostgreSQL/flexibleServers/write'\n  'Microsoft.DBforPostgreSQL/flexibleServers/failover/action'\n]", check: 'rolesAndEvents' },
  { why: 'Key Vault event type', file: EVENTGRID, from: "'Microsoft.KeyVault.SecretNearExpiry'", to: "'Microsoft.KeyVault.SecretNewVersionCreated'", check: 'rolesAndEvents' },
  { why: 'dev HA', file: DEV, from: "param highAvailabilityMode = 'Disabled'", to: "param highAvailabilityMode = 'ZoneRedundant'", check: 'devIsCheap' },
  { why: 'dev replica', file: DEV, from: 'param deployReplica = false', to: 'param deployReplica = true', check: 'devIsCheap' },
  { why: 'dev tier', file: DEV, from: "param skuTier = 'Burstable'", to: "param skuTier = 'GeneralPurpose'", check: 'devIsCheap' },
  { why: 'secret parameter without @secure()', file: MAIN, from: "@secure()\nparam teamsWebhookUrl string = ''", to: "param teamsWebhookUrl string = ''", check: 'secrets' },
  { why: 'secret in an output', file: MAIN, from: '// ---------------------------------------------------------------- outputs (no secrets)', to: "@description('leak')\noutput adminSecret string = administratorLoginPassword", check: 'secrets' },
  { why: 'module parameter loses @secure()', file: KEYVAULT, from: "@secure()\nparam teamsWebhookUrl string", to: 'param teamsWebhookUrl string', check: 'secrets' },
  { why: 'hard-coded location', file: NETWORK, from: 'name: vnetName\n  location: location', to: "name: vnetName\n  location: 'koreacentral'", check: 'locations' },
  { why: 'missing description', file: MAIN, from: "@description('Log Analytics workspace name (plan 7.4.1: law-phonebill-prod).')\n", to: '', check: 'descriptions' },
  { why: 'API version drift', file: NETWORK, from: "resource defaultNsg 'Microsoft.Network/networkSecurityGroups@2026-03-01'", to: "resource defaultNsg 'Microsoft.Network/networkSecurityGroups@2025-07-01'", check: 'apiVersions' },
  { why: "a plan password", file: PROD, from: "param alertLanguage = 'ko'", to: `param alertLanguage = 'ko'\n// ${['PC', 'App', '2025'].join('')}`, check: 'planPasswords' },
];

describe('changing a plan value makes a check fail', () => {
  it.each(mutations)('$why ($check)', async ({ file, from, to, check }) => {
    const original = sources[file];
    expect(original, file).toBeDefined();
    expect(original?.includes(from), `${file} should contain ${JSON.stringify(from)}`).toBe(true);
    const mutated: Sources = { ...sources, [file]: (original ?? '').replace(from, to) };
    const result = await runChecks(mutated);
    expect(baseline[check]).toEqual([]);
    expect(result[check].length, `${check} did not notice: ${file}`).toBeGreaterThan(0);
  });
});

describe('the Function App settings the templates write are settings dbops reads', () => {
  it('names no setting the code does not declare (a typo would be silently ignored)', async () => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { settingsCatalog } = await import('../../src/catalog.js');
    const main = readFileSync(join(import.meta.dirname, '..', '..', 'infra', 'bicep', 'main.bicep'), 'utf8');
    const written = [...new Set([...main.matchAll(/^\s+(DBOPS_[A-Z0-9_]+):/gm)].map((m) => m[1]!))];
    const declared = new Set(settingsCatalog().map((e) => e.spec.env));
    expect(written.length).toBeGreaterThan(15);
    expect(written.filter((n) => !declared.has(n))).toEqual([]);
  });
});
