// Policy checks over the parsed templates: the installation plan's settings and the security
// rules. Every check takes the sources as text, so a test can change one value and see the
// check fail.
import fs from 'node:fs';
import path from 'node:path';
import type { Node, Tree } from 'web-tree-sitter';
import {
  Unresolved,
  declarations,
  decoratorArgs,
  decoratorName,
  identifiersIn,
  literal,
  named,
  objectProperties,
  parseText,
  property,
  propertyPath,
  stringValue,
  syntaxProblems,
  walk,
  type Declaration,
  type Value,
} from './bicep-tree.js';

export const repoRoot = path.resolve(import.meta.dirname, '../..');
export const BICEP_DIR = 'infra/bicep';
export const MAIN = 'infra/bicep/main.bicep';
export const PROD = 'infra/bicep/main.prod.bicepparam';
export const DEV = 'infra/bicep/main.dev.bicepparam';
export const DOCS = 'docs/deploy.md';

export type Sources = Record<string, string>;

export function loadSources(): Sources {
  const sources: Sources = {};
  const add = (rel: string): void => {
    sources[rel] = fs.readFileSync(path.join(repoRoot, rel), 'utf8');
  };
  const walkDir = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(repoRoot, rel), { withFileTypes: true })) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walkDir(child);
      else add(child);
    }
  };
  walkDir(BICEP_DIR);
  add('azure.yaml');
  if (fs.existsSync(path.join(repoRoot, DOCS))) add(DOCS);
  return sources;
}

export const isBicep = (file: string): boolean => file.endsWith('.bicep');
export const isParamFile = (file: string): boolean => file.endsWith('.bicepparam');

export interface ParsedFile {
  file: string;
  text: string;
  tree: Tree;
  decls: Declaration[];
}

export type Project = Map<string, ParsedFile>;

export async function parseProject(sources: Sources): Promise<Project> {
  const project: Project = new Map();
  for (const [file, text] of Object.entries(sources)) {
    if (!isBicep(file) && !isParamFile(file)) continue;
    const tree = await parseText(text, isParamFile(file));
    project.set(file, { file, text, tree, decls: declarations(tree) });
  }
  return project;
}

// ----------------------------------------------------------------- lookups

function get(project: Project, file: string): ParsedFile {
  const parsed = project.get(file);
  if (!parsed) throw new Error(`${file} is missing`);
  return parsed;
}

function decl(parsed: ParsedFile, kind: Declaration['kind'], name: string): Declaration | undefined {
  return parsed.decls.find((d) => d.kind === kind && d.name === name);
}

function resourceType(d: Declaration): string {
  return stringValue(d.typeNode) ?? '';
}

export function resources(parsed: ParsedFile, typePrefix: string): Declaration[] {
  return parsed.decls.filter((d) => d.kind === 'resource' && resourceType(d).toLowerCase().startsWith(`${typePrefix.toLowerCase()}@`));
}

function moduleCall(project: Project, moduleFile: string): Declaration | undefined {
  const rel = path.posix.relative(BICEP_DIR, moduleFile);
  return get(project, MAIN).decls.find((d) => d.kind === 'module' && stringValue(d.typeNode) === rel);
}

/** The value a parameter file gives a main.bicep parameter, else its default. */
function mainParamValue(project: Project, paramFile: string, name: string): Node | undefined {
  const fromFile = decl(get(project, paramFile), 'param', name);
  if (fromFile) return fromFile.value;
  return decl(get(project, MAIN), 'param', name)?.value;
}

export interface Resolved {
  value: Value;
  /** how the value was reached, for messages */
  trail: string[];
}

/**
 * Resolves an expression in a template to a value under a parameter file: identifiers that name
 * parameters are followed from a module to its call in main.bicep, from main.bicep to the
 * parameter file (or the default); main.bicep variables are followed too. A ternary resolves to
 * its first branch (the templates use `cond ? value : null` for optional settings).
 */
export function resolve(project: Project, paramFile: string, file: string, node: Node | undefined, trail: string[] = []): Resolved {
  if (!node) return { value: null, trail: [...trail, `${file}: missing`] };
  const here = [...trail, `${file}: ${node.text.slice(0, 60)}`];
  if (node.type === 'ternary_expression') {
    return resolve(project, paramFile, file, node.childForFieldName('consequence') ?? undefined, here);
  }
  if (node.type === 'parenthesized_expression' && named(node).length === 1) {
    return resolve(project, paramFile, file, named(node)[0], here);
  }
  if (node.type === 'identifier') {
    const parsed = get(project, file);
    const local = isBicep(file) && file !== MAIN ? decl(parsed, 'var', node.text) : undefined;
    if (local) return resolve(project, paramFile, file, local.value, here);
    if (file === MAIN) {
      const v = decl(parsed, 'var', node.text);
      if (v) return resolve(project, paramFile, MAIN, v.value, here);
      if (decl(parsed, 'param', node.text)) {
        const inFile = decl(get(project, paramFile), 'param', node.text);
        if (inFile) return resolve(project, paramFile, paramFile, inFile.value, here);
        return resolve(project, paramFile, MAIN, decl(parsed, 'param', node.text)?.value, here);
      }
    } else if (isBicep(file) && decl(parsed, 'param', node.text)) {
      const call = moduleCall(project, file);
      const passed = property(property(call?.value, 'params'), node.text);
      if (passed) return resolve(project, paramFile, MAIN, passed, here);
      return resolve(project, paramFile, file, decl(parsed, 'param', node.text)?.value, here);
    }
  }
  if (node.type === 'call_expression' && isParamFile(file)) {
    // readEnvironmentVariable('NAME', 'default') and bool(readEnvironmentVariable(...)) resolve to the default
    const fn = node.childForFieldName('function')?.text;
    const args = named(node.childForFieldName('arguments') ?? node);
    if (fn === 'readEnvironmentVariable' && args[1]) return resolve(project, paramFile, file, args[1], here);
    if (fn === 'bool' && args[0]) {
      const inner = resolve(project, paramFile, file, args[0], here);
      return { value: inner.value === 'true' || inner.value === true, trail: inner.trail };
    }
  }
  return { value: literal(node), trail: here };
}

function show(value: Value): string {
  return value instanceof Unresolved ? `<${value.text}>` : JSON.stringify(value);
}

function expectValue(
  problems: string[],
  project: Project,
  paramFile: string,
  file: string,
  node: Node | undefined,
  expected: Value,
  what: string,
): void {
  const { value, trail } = resolve(project, paramFile, file, node);
  if (JSON.stringify(value) !== JSON.stringify(expected)) {
    problems.push(`${what}: expected ${JSON.stringify(expected)}, got ${show(value)} (${trail.join(' -> ')})`);
  }
}

// ----------------------------------------------------------------- the plan's settings

const FLEX = 'Microsoft.DBforPostgreSQL/flexibleServers';
const POSTGRES = 'infra/bicep/modules/postgres.bicep';

function flexibleServers(project: Project): { primary?: Declaration; replica?: Declaration } {
  const servers = resources(get(project, POSTGRES), FLEX);
  // The replica sends createMode Replica only on creation (replicaExists ? null : 'Replica').
  const createMode = (d: Declaration) => (propertyPath(d.value, 'properties.createMode')?.text.includes("'Replica'") ? 'Replica' : stringValue(propertyPath(d.value, 'properties.createMode')));
  return {
    primary: servers.find((d) => createMode(d) !== 'Replica'),
    replica: servers.find((d) => createMode(d) === 'Replica'),
  };
}

/** Plan 2.2.1-2.2.3, 3.1.1, 5.1: the servers as deployed with the production parameters. */
export function checkPrimaryServer(project: Project): string[] {
  const problems: string[] = [];
  const { primary } = flexibleServers(project);
  if (!primary) return ['no primary flexible server resource in postgres.bicep'];
  const at = (p: string) => propertyPath(primary.value, p);
  const expectations: Array<[string, Value]> = [
    ['properties.version', '14'],
    ['sku.name', 'Standard_D4s_v3'],
    ['sku.tier', 'GeneralPurpose'],
    ['properties.highAvailability.mode', 'ZoneRedundant'],
    ['properties.availabilityZone', '1'],
    ['properties.highAvailability.standbyAvailabilityZone', '2'],
    ['properties.backup.backupRetentionDays', 35],
    ['properties.backup.geoRedundantBackup', 'Enabled'],
    ['properties.storage.storageSizeGB', 256],
    ['properties.storage.autoGrow', 'Enabled'],
    ['properties.storage.type', 'Premium_LRS'],
    ['properties.network.publicNetworkAccess', 'Disabled'],
    ['properties.authConfig.activeDirectoryAuth', 'Enabled'],
    ['properties.authConfig.passwordAuth', 'Disabled'],
  ];
  for (const [p, expected] of expectations) expectValue(problems, project, PROD, POSTGRES, at(p), expected, `primary ${p}`);
  if (!at('properties.network.delegatedSubnetResourceId')) problems.push('primary has no delegated subnet (private access)');
  if (!at('properties.network.privateDnsZoneArmResourceId')) problems.push('primary has no private DNS zone');
  const encryption = resolve(project, PROD, POSTGRES, at('properties.dataEncryption')).value;
  if (typeof encryption !== 'object' || encryption === null || Array.isArray(encryption) || encryption instanceof Unresolved) {
    problems.push('primary dataEncryption is not an object');
  } else {
    if (encryption.type !== 'AzureKeyVault') problems.push(`primary dataEncryption.type: expected AzureKeyVault, got ${show(encryption.type ?? null)}`);
    for (const key of ['primaryKeyURI', 'primaryUserAssignedIdentityId', 'geoBackupKeyURI', 'geoBackupUserAssignedIdentityId']) {
      if (!(key in encryption)) problems.push(`primary dataEncryption has no ${key} (plan 4.2.1, geo-redundant backup needs a geo key)`);
    }
  }
  const cmk = decl(get(project, PROD), 'param', 'useCustomerManagedKey');
  expectValue(problems, project, PROD, cmk ? PROD : MAIN, mainParamValue(project, PROD, 'useCustomerManagedKey'), true, 'useCustomerManagedKey (plan 4.2.1)');
  return problems;
}

export function checkReplica(project: Project): string[] {
  const problems: string[] = [];
  const { replica } = flexibleServers(project);
  if (!replica) return ['no replica (createMode Replica) resource in postgres.bicep'];
  expectValue(problems, project, PROD, POSTGRES, replica.condition, true, 'replica deployed (deployReplica)');
  expectValue(problems, project, PROD, POSTGRES, propertyPath(replica.value, 'sku.name'), 'Standard_D4s_v3', 'replica sku.name');
  expectValue(problems, project, PROD, POSTGRES, propertyPath(replica.value, 'location'), 'koreasouth', 'replica location');
  expectValue(problems, project, PROD, POSTGRES, propertyPath(replica.value, 'properties.network.publicNetworkAccess'), 'Disabled', 'replica publicNetworkAccess');
  const source = propertyPath(replica.value, 'properties.sourceServerResourceId');
  if (source?.text !== 'replicaExists ? null : server.id') problems.push(`replica sourceServerResourceId should be server.id on creation (replicaExists ? null : server.id), got ${source?.text}`);
  return problems;
}

export function checkDatabase(project: Project): string[] {
  const problems: string[] = [];
  const db = resources(get(project, POSTGRES), `${FLEX}/databases`)[0];
  if (!db) return ['no database resource'];
  expectValue(problems, project, PROD, POSTGRES, property(db.value, 'name'), 'product_change_db', 'database name');
  return problems;
}

/** Plan 3.1.2, 4.3.1, 7.2.2, 7.3.1, in the server's units. */
export const PLAN_SERVER_PARAMETERS: Record<string, string> = {
  shared_buffers: '524288', // 4 GB in 8 kB pages
  effective_cache_size: '1572864', // 12 GB in 8 kB pages
  work_mem: '32768', // 32 MB in kB
  maintenance_work_mem: '524288', // 512 MB in kB
  max_connections: '200',
  idle_in_transaction_session_timeout: '1800000', // 30 min in ms
  checkpoint_completion_target: '0.9',
  wal_buffers: '2048', // 16 MB in 8 kB pages
  max_wal_size: '4096', // 4 GB in MB
  log_statement: 'all',
  log_duration: 'on',
  log_min_duration_statement: '1000',
  log_connections: 'on',
  log_disconnections: 'on',
  log_hostname: 'on',
  log_line_prefix: '%t [%p]: user=%u,db=%d,app=%a,client=%h ',
  track_activities: 'on',
  track_counts: 'on',
  track_functions: 'all',
  shared_preload_libraries: 'pg_stat_statements',
  require_secure_transport: 'on',
  ssl_min_protocol_version: 'TLSv1.3',
};

export function checkServerParameters(project: Project): string[] {
  const problems: string[] = [];
  const main = get(project, MAIN);
  const params = decl(main, 'var', 'serverParameters');
  if (!params?.value) return ['main.bicep has no serverParameters variable'];
  for (const [name, expected] of Object.entries(PLAN_SERVER_PARAMETERS)) {
    const node = property(params.value, name);
    if (!node) {
      problems.push(`server parameter ${name} is not set`);
      continue;
    }
    expectValue(problems, project, PROD, MAIN, node, expected, `server parameter ${name}`);
  }
  // ssl_min_protocol_version must stay a parameter so it can be lowered for one client
  const tls = property(params.value, 'ssl_min_protocol_version');
  if (tls?.type !== 'identifier' || !decl(main, 'param', tls.text)) {
    problems.push('ssl_min_protocol_version is not taken from a main.bicep parameter');
  }
  const ext = resolve(project, PROD, MAIN, property(params.value, 'azure.extensions')).value;
  if (typeof ext !== 'string' || !ext.split(',').includes('pg_stat_statements')) {
    problems.push(`azure.extensions must allow pg_stat_statements, got ${show(ext)}`);
  }
  // the module must apply the object it receives to the server
  const configs = resources(get(project, POSTGRES), `${FLEX}/configurations`);
  const primaryConfigs = configs.find((d) => d.node.text.includes('items(serverParameters)'));
  if (!primaryConfigs) problems.push('postgres.bicep does not create a configuration for every entry of serverParameters');
  const passed = property(property(moduleCall(project, POSTGRES)?.value, 'params'), 'serverParameters');
  if (passed?.text !== 'serverParameters') problems.push('main.bicep does not pass serverParameters to the postgres module');
  return problems;
}

/** Plan 6.1.1 thresholds with Azure's metric names. */
export const PLAN_ALERTS: Array<{ metricName: string; threshold: number; target: 'primary' | 'replica' }> = [
  { metricName: 'cpu_percent', threshold: 80, target: 'primary' },
  { metricName: 'memory_percent', threshold: 85, target: 'primary' },
  { metricName: 'storage_percent', threshold: 75, target: 'primary' },
  { metricName: 'disk_iops_consumed_percentage', threshold: 80, target: 'primary' },
  { metricName: 'active_connections', threshold: 150, target: 'primary' },
  { metricName: 'physical_replication_delay_in_seconds', threshold: 300, target: 'replica' },
];

// Names in Azure Monitor's supported-metrics list for Microsoft.DBforPostgreSQL/flexibleServers.
export const FLEXIBLE_SERVER_METRICS = new Set([
  'active_connections',
  'connections_failed',
  'connections_succeeded',
  'cpu_percent',
  'memory_percent',
  'storage_percent',
  'storage_used',
  'storage_free',
  'iops',
  'read_iops',
  'write_iops',
  'disk_iops_consumed_percentage',
  'disk_bandwidth_consumed_percentage',
  'disk_queue_depth',
  'read_throughput',
  'write_throughput',
  'network_bytes_ingress',
  'network_bytes_egress',
  'physical_replication_delay_in_seconds',
  'physical_replication_delay_in_bytes',
  'maximum_used_transactionIDs',
  'txlogs_storage_used',
  'backup_storage_used',
]);

const VALID_WINDOWS = new Set(['PT1M', 'PT5M', 'PT15M', 'PT30M', 'PT1H', 'PT6H', 'PT12H', 'P1D']);

export function checkMetricAlerts(project: Project): string[] {
  const problems: string[] = [];
  const rules = literal(decl(get(project, MAIN), 'var', 'metricAlertRules')?.value);
  if (!Array.isArray(rules)) return ['main.bicep has no metricAlertRules array'];
  const objects = rules.filter((r): r is Record<string, Value> => typeof r === 'object' && r !== null && !Array.isArray(r) && !(r instanceof Unresolved));
  for (const rule of objects) {
    const name = String(rule.metricName);
    if (!FLEXIBLE_SERVER_METRICS.has(name)) problems.push(`metric ${name} is not a flexible server metric`);
    if (!VALID_WINDOWS.has(String(rule.windowSize))) problems.push(`${name}: windowSize ${String(rule.windowSize)} is not one Azure accepts`);
  }
  for (const plan of PLAN_ALERTS) {
    const rule = objects.find((r) => r.metricName === plan.metricName);
    if (!rule) {
      problems.push(`no alert on ${plan.metricName}`);
      continue;
    }
    if (rule.operator !== 'GreaterThan') problems.push(`${plan.metricName}: operator ${show(rule.operator ?? null)}, expected GreaterThan`);
    if (rule.threshold !== plan.threshold) problems.push(`${plan.metricName}: threshold ${show(rule.threshold ?? null)}, expected ${plan.threshold}`);
    if (rule.target !== plan.target) problems.push(`${plan.metricName}: target ${show(rule.target ?? null)}, expected ${plan.target}`);
  }
  // the alerts module must use the rule's metric name and threshold, in the flexible server namespace
  const alertsFile = get(project, 'infra/bicep/modules/alerts.bicep');
  const metricAlert = resources(alertsFile, 'Microsoft.Insights/metricAlerts')[0];
  const criterion = metricAlert?.value ? [...walk(metricAlert.value)].find((n) => n.type === 'object' && property(n, 'criterionType')) : undefined;
  if (!criterion) problems.push('alerts.bicep has no metric alert criterion');
  else {
    if (property(criterion, 'metricName')?.text !== 'rule.metricName') problems.push('metric alert does not use rule.metricName');
    if (property(criterion, 'threshold')?.text !== 'rule.threshold') problems.push('metric alert does not use rule.threshold');
    if (stringValue(property(criterion, 'metricNamespace')) !== FLEX) problems.push('metric alert namespace is not Microsoft.DBforPostgreSQL/flexibleServers');
  }
  const passed = property(property(moduleCall(project, 'infra/bicep/modules/alerts.bicep')?.value, 'params'), 'metricAlertRules');
  if (passed?.text !== 'metricAlertRules') problems.push('main.bicep does not pass metricAlertRules to the alerts module');
  return problems;
}

export function checkAlertWiring(project: Project): string[] {
  const problems: string[] = [];
  const alertsFile = get(project, 'infra/bicep/modules/alerts.bicep');
  const receivers = decl(alertsFile, 'var', 'functionReceivers')?.value;
  const receiver = receivers ? [...walk(receivers)].find((n) => n.type === 'object' && property(n, 'httpTriggerUrl')) : undefined;
  if (!receiver) problems.push('no Azure Function receiver');
  else {
    if (property(receiver, 'useCommonAlertSchema')?.text !== 'true') problems.push('function receiver does not use the common alert schema');
    if (!property(receiver, 'httpTriggerUrl')?.text.includes('/api/alerts/resource-health')) problems.push('function receiver does not target /api/alerts/resource-health');
  }
  const health = resources(alertsFile, 'Microsoft.Insights/activityLogAlerts')[0];
  const conditions = literal(propertyPath(health?.value, 'properties.condition.allOf'));
  const json = JSON.stringify(conditions);
  if (!json.includes('"ResourceHealth"') || !json.includes(FLEX)) problems.push('no Resource Health activity-log alert for the flexible servers');
  return problems;
}

export function checkBudget(project: Project): string[] {
  const problems: string[] = [];
  const budgetFile = 'infra/bicep/modules/budget.bicep';
  const budget = resources(get(project, budgetFile), 'Microsoft.Consumption/budgets')[0];
  if (!budget) return ['no budget resource'];
  expectValue(problems, project, PROD, budgetFile, propertyPath(budget.value, 'properties.amount'), 1600, 'budget amount');
  expectValue(problems, project, PROD, budgetFile, propertyPath(budget.value, 'properties.timeGrain'), 'Monthly', 'budget time grain');
  const kinds = [...walk(get(project, budgetFile).tree.rootNode)]
    .filter((n) => n.type === 'object_property' && named(n)[0]?.text === 'thresholdType')
    .map((n) => stringValue(named(n)[1]));
  for (const kind of ['Actual', 'Forecasted']) if (!kinds.includes(kind)) problems.push(`budget has no ${kind} notification`);
  for (const [param, label] of [
    ['actualThresholds', 'actual'],
    ['forecastThresholds', 'forecast'],
  ] as const) {
    const v = resolve(project, PROD, budgetFile, identifierNode(project, budgetFile, param)).value;
    if (!Array.isArray(v) || v.length === 0) problems.push(`no ${label} budget notification thresholds`);
    else if (!v.includes(100)) problems.push(`${label} notifications do not include 100 %`);
  }
  expectValue(problems, project, PROD, MAIN, dbopsSetting(project, 'DBOPS_BUDGET_AMOUNT')?.childForFieldName('arguments')?.namedChildren[0] ?? undefined, 1600, 'DBOPS_BUDGET_AMOUNT');
  return problems;
}

/** An identifier node naming a module parameter, so `resolve` can follow it. */
function identifierNode(project: Project, file: string, name: string): Node | undefined {
  for (const n of walk(get(project, file).tree.rootNode)) if (n.type === 'identifier' && n.text === name && n.parent?.type !== 'parameter_declaration') return n;
  return undefined;
}

function dbopsSetting(project: Project, name: string): Node | undefined {
  const call = moduleCall(project, 'infra/bicep/modules/functionapp.bicep');
  return property(property(property(call?.value, 'params'), 'dbopsSettings'), name);
}

export const DBOPS_SETTINGS = [
  'DBOPS_PG_HOST',
  'DBOPS_PG_DATABASE',
  'DBOPS_PG_USER',
  'DBOPS_PG_AUTH',
  'DBOPS_REPLICA_HOST',
  'DBOPS_AZURE_SUBSCRIPTION_ID',
  'DBOPS_AZURE_RESOURCE_GROUP',
  'DBOPS_AZURE_SERVER_NAME',
  'DBOPS_AZURE_REPLICA_NAME',
  'DBOPS_KEYVAULT_URL',
  'DBOPS_COST_SCOPE',
  'DBOPS_BUDGET_AMOUNT',
  'DBOPS_LOG_ANALYTICS_WORKSPACE_ID',
  'DBOPS_ACS_ENDPOINT',
  'DBOPS_ALERT_EMAIL_TO',
  'DBOPS_ALERT_SMS_TO',
  'DBOPS_TEAMS_WEBHOOK_URL',
  'DBOPS_ALERT_LANGUAGE',
  'DBOPS_ACS_EMAIL_SENDER',
  'DBOPS_ACS_SMS_FROM',
  'DBOPS_ENVIRONMENT',
  'DBOPS_VERIFY_SETTINGS_SEVERITY',
];

export function checkFunctionApp(project: Project): string[] {
  const problems: string[] = [];
  for (const name of DBOPS_SETTINGS) if (!dbopsSetting(project, name)) problems.push(`app setting ${name} is not set`);
  expectValue(problems, project, PROD, MAIN, dbopsSetting(project, 'DBOPS_PG_AUTH'), 'entra', 'DBOPS_PG_AUTH');
  expectValue(problems, project, PROD, MAIN, dbopsSetting(project, 'DBOPS_ALERT_LANGUAGE'), 'ko', 'DBOPS_ALERT_LANGUAGE');
  if (dbopsSetting(project, 'DBOPS_PG_USER')?.text !== 'functionAppName') problems.push('DBOPS_PG_USER is not the Function App (principal) name');
  if (!dbopsSetting(project, 'DBOPS_TEAMS_WEBHOOK_URL')?.text.includes('@Microsoft.KeyVault(SecretUri=')) problems.push('DBOPS_TEAMS_WEBHOOK_URL is not a Key Vault reference');
  if (dbopsSetting(project, 'DBOPS_COST_SCOPE')?.text !== 'resourceGroup().id') problems.push('DBOPS_COST_SCOPE is not the resource group id');
  const fnFile = 'infra/bicep/modules/functionapp.bicep';
  const site = resources(get(project, fnFile), 'Microsoft.Web/sites')[0];
  if (!site) return [...problems, 'no Function App'];
  expectValue(problems, project, PROD, fnFile, propertyPath(site.value, 'properties.functionAppConfig.runtime.name'), 'node', 'runtime');
  expectValue(problems, project, PROD, fnFile, propertyPath(site.value, 'properties.functionAppConfig.runtime.version'), '22', 'Node version');
  expectValue(problems, project, PROD, fnFile, propertyPath(site.value, 'identity.type'), 'SystemAssigned', 'Function identity');
  if (!propertyPath(site.value, 'properties.virtualNetworkSubnetId')) problems.push('Function App has no VNet integration');
  const plan = resources(get(project, fnFile), 'Microsoft.Web/serverfarms')[0];
  const tier = stringValue(propertyPath(plan?.value, 'sku.tier'));
  if (tier !== 'FlexConsumption' && tier !== 'ElasticPremium') problems.push(`plan tier ${tier} is neither Flex Consumption nor Elastic Premium`);
  // Entra administrator = the Function's identity (a module, since its name is a module output)
  const adminFile = 'infra/bicep/modules/postgres-entra-admin.bicep';
  const admin = resources(get(project, adminFile), `${FLEX}/administrators`)[0];
  const adminCall = property(moduleCall(project, adminFile)?.value, 'params');
  if (!admin || !adminCall) problems.push('no Entra administrator resource');
  else {
    const principalType = property(adminCall, 'principalType') ?? decl(get(project, adminFile), 'param', 'principalType')?.value;
    if (stringValue(principalType) !== 'ServicePrincipal') problems.push('Entra administrator is not a service principal');
    if (property(adminCall, 'principalName')?.text !== 'functionAppName') problems.push('Entra administrator is not the Function App');
    if (property(adminCall, 'principalId')?.text !== 'functionApp.outputs.principalId') problems.push('Entra administrator object id is not the Function identity');
    if (property(admin.value, 'name')?.text !== 'principalId') problems.push('Entra administrator is not named by its object id');
  }
  return problems;
}

export function checkRolesAndEvents(project: Project): string[] {
  const problems: string[] = [];
  const roles = get(project, 'infra/bicep/modules/roles.bicep').text;
  const builtIn: Record<string, string> = {
    'Key Vault Secrets Officer': 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
    'Cost Management Reader': '72fafb9e-0641-4937-9268-a91bfd8191a3',
    'Monitoring Reader': '43d0d8ad-25c7-4714-9337-8ba259a9fe05',
  };
  for (const [role, id] of Object.entries(builtIn)) if (!roles.includes(`'${id}'`)) problems.push(`no ${role} assignment`);
  const actions = [...walk(get(project, 'infra/bicep/modules/roles.bicep').tree.rootNode)].filter((n) => n.type === 'string').map((n) => stringValue(n));
  for (const a of ['Microsoft.DBforPostgreSQL/flexibleServers/write', 'Microsoft.DBforPostgreSQL/flexibleServers/delete']) {
    if (!actions.includes(a)) problems.push(`restore role lacks ${a}`);
  }
  if (actions.some((a) => a === '*' || a === 'Microsoft.DBforPostgreSQL/*')) problems.push('restore role uses a wildcard action');
  const eg = get(project, 'infra/bicep/modules/eventgrid.bicep');
  const subs = resources(eg, 'Microsoft.EventGrid/systemTopics/eventSubscriptions');
  const byFunction = new Map<string, Declaration>();
  for (const s of subs) {
    const target = propertyPath(s.value, 'properties.destination.properties.resourceId')?.text ?? '';
    const fn = /(?:\/functions\/|'Microsoft\.Web\/sites\/functions',\s*\w+,\s*')([A-Za-z]+)/.exec(target)?.[1];
    if (fn) byFunction.set(fn, s);
  }
  // The operations failoverEvents forwards must exist on flexible servers (restart with failover,
  // and promote/switchover, which ARM records as a server write).
  const operations = literal(decl(get(project, MAIN), 'var', 'serverOperationNames')?.value);
  const wantedOps = [`${FLEX}/restart/action`, `${FLEX}/write`];
  if (JSON.stringify(operations) !== JSON.stringify(wantedOps)) problems.push(`failoverEvents forwards ${JSON.stringify(operations)}, expected ${JSON.stringify(wantedOps)}`);
  const expectTypes: Record<string, string[]> = {
    failoverEvents: ['Microsoft.Resources.ResourceActionSuccess', 'Microsoft.Resources.ResourceWriteSuccess'],
    keyVaultEvents: ['Microsoft.KeyVault.SecretNearExpiry', 'Microsoft.KeyVault.SecretExpired'],
  };
  for (const [fn, types] of Object.entries(expectTypes)) {
    const sub = byFunction.get(fn);
    if (!sub) {
      problems.push(`no Event Grid subscription for ${fn}`);
      continue;
    }
    const got = literal(propertyPath(sub.value, 'properties.filter.includedEventTypes'));
    if (JSON.stringify(got) !== JSON.stringify(types)) problems.push(`${fn} event types ${JSON.stringify(got)}, expected ${JSON.stringify(types)}`);
    if (!propertyPath(sub.value, 'properties.deadLetterWithResourceIdentity')) problems.push(`${fn} has no dead-letter destination`);
  }
  return problems;
}

export function checkDevIsCheap(project: Project): string[] {
  const problems: string[] = [];
  const want: Array<[string, Value]> = [
    ['highAvailabilityMode', 'Disabled'],
    ['deployReplica', false],
    ['skuTier', 'Burstable'],
  ];
  for (const [name, expected] of want) expectValue(problems, project, DEV, DEV, mainParamValue(project, DEV, name), expected, `dev ${name}`);
  return problems;
}

// ----------------------------------------------------------------- security and hygiene

const SECRET_NAME = /(password|secret|webhookurl|connectionstring|accesskey|apikey|token|sastoken)$/i;

function isSecure(d: Declaration): boolean {
  return d.decorators.some((dec) => decoratorName(dec) === 'secure') || /^secure(String|Object)$/.test(d.typeNode?.text ?? '');
}

export function checkSecrets(project: Project): string[] {
  const problems: string[] = [];
  for (const parsed of project.values()) {
    if (!isBicep(parsed.file)) continue;
    const secure = new Set(parsed.decls.filter((d) => d.kind === 'param' && isSecure(d)).map((d) => d.name));
    for (const d of parsed.decls) {
      if (d.kind === 'param' && SECRET_NAME.test(d.name) && !secure.has(d.name)) problems.push(`${parsed.file}: parameter ${d.name} holds a secret but is not @secure()`);
      if (d.kind === 'param' && secure.has(d.name) && d.value && literal(d.value) !== '') problems.push(`${parsed.file}: secure parameter ${d.name} has a default value`);
      if (d.kind === 'output') {
        if (SECRET_NAME.test(d.name)) problems.push(`${parsed.file}: output ${d.name} looks like a secret`);
        const used = identifiersIn(d.value);
        for (const s of secure) if (used.has(s)) problems.push(`${parsed.file}: output ${d.name} uses secure parameter ${s}`);
        for (const n of d.value ? walk(d.value) : []) {
          if (n.type === 'call_expression' && /^list/i.test(n.childForFieldName('function')?.text.split('.').pop() ?? '')) {
            problems.push(`${parsed.file}: output ${d.name} calls ${n.childForFieldName('function')?.text}`);
          }
          if (n.type === 'member_expression' && /connectionstring|primarykey|secondarykey/i.test(n.childForFieldName('property')?.text ?? '')) {
            problems.push(`${parsed.file}: output ${d.name} reads ${n.text}`);
          }
        }
      }
    }
  }
  // a secure value passed to a module must land in a secure module parameter
  const main = get(project, MAIN);
  const mainSecure = new Set(main.decls.filter((d) => d.kind === 'param' && isSecure(d)).map((d) => d.name));
  for (const call of main.decls.filter((d) => d.kind === 'module')) {
    const target = path.posix.join(BICEP_DIR, stringValue(call.typeNode) ?? '');
    const mod = project.get(target);
    if (!mod) continue;
    for (const p of objectProperties(property(call.value, 'params'))) {
      if (p.value?.type === 'identifier' && mainSecure.has(p.value.text)) {
        const receiving = decl(mod, 'param', p.key);
        if (!receiving || !isSecure(receiving)) problems.push(`${target}: parameter ${p.key} receives secure ${p.value.text} but is not @secure()`);
      }
    }
  }
  // parameter files never hold a secret literal
  for (const file of [PROD, DEV]) {
    const parsed = get(project, file);
    for (const d of parsed.decls) {
      if (d.kind !== 'param') continue;
      const target = decl(main, 'param', d.name);
      if (target && isSecure(target) && d.value?.type !== 'call_expression' && literal(d.value) !== '') {
        problems.push(`${file}: secure parameter ${d.name} is given a literal value`);
      }
    }
  }
  return problems;
}

export function checkDescriptions(project: Project): string[] {
  const problems: string[] = [];
  for (const parsed of project.values()) {
    if (!isBicep(parsed.file)) continue;
    for (const d of parsed.decls) {
      if (d.kind !== 'param') continue;
      const desc = d.decorators.find((dec) => decoratorName(dec) === 'description');
      const text = desc ? stringValue(decoratorArgs(desc)[0]) : undefined;
      if (!text || text.trim().length < 10) problems.push(`${parsed.file}: parameter ${d.name} has no @description`);
    }
  }
  return problems;
}

export const AZURE_REGIONS = [
  'koreacentral', 'koreasouth', 'japaneast', 'japanwest', 'eastasia', 'southeastasia', 'eastus', 'eastus2',
  'westus', 'westus2', 'westus3', 'centralus', 'northeurope', 'westeurope', 'uksouth', 'australiaeast',
];

export function checkLocations(project: Project): string[] {
  const problems: string[] = [];
  for (const parsed of project.values()) {
    if (!isBicep(parsed.file)) continue;
    for (const n of walk(parsed.tree.rootNode)) {
      if (n.type === 'string') {
        const s = (stringValue(n) ?? '').toLowerCase().replace(/\s+/g, '');
        if (AZURE_REGIONS.includes(s)) problems.push(`${parsed.file}:${n.startPosition.row + 1}: hard-coded region '${stringValue(n)}'`);
      }
      if (n.type === 'object_property' && named(n)[0]?.text === 'location') {
        const v = named(n)[1];
        const s = stringValue(v);
        if (v?.type === 'string' && s !== 'global') problems.push(`${parsed.file}:${n.startPosition.row + 1}: location is the literal '${s}'`);
      }
    }
    for (const d of parsed.decls) {
      if (d.kind !== 'param' || !/location$/i.test(d.name) || !d.value) continue;
      if (!['resourceGroup().location', 'deployment().location'].includes(d.value.text)) {
        problems.push(`${parsed.file}: parameter ${d.name} defaults to ${d.value.text}`);
      }
    }
  }
  return problems;
}

const PLAN_PASSWORD_PREFIXES = [
  ['PC', 'App', '2025'],
  ['PC', 'Read', '2025'],
  ['PC', 'Admin', '2025'],
  ['Product', 'Change', '2025'],
].map((parts) => parts.join(''));

export function checkNoPlanPasswords(sources: Sources): string[] {
  const problems: string[] = [];
  for (const [file, text] of Object.entries(sources)) {
    for (const prefix of PLAN_PASSWORD_PREFIXES) if (text.includes(prefix)) problems.push(`${file} contains a password from the plan (${prefix.slice(0, 4)}...)`);
  }
  return problems;
}

export function checkBicepConfig(sources: Sources): string[] {
  const problems: string[] = [];
  const raw = sources['infra/bicep/bicepconfig.json'];
  if (!raw) return ['no bicepconfig.json'];
  const config = JSON.parse(raw) as { analyzers?: { core?: { enabled?: boolean; rules?: Record<string, { level?: string }> } } };
  const rules = config.analyzers?.core?.rules ?? {};
  for (const rule of ['no-hardcoded-location', 'use-recent-api-versions']) {
    const level = rules[rule]?.level;
    if (level !== 'warning' && level !== 'error') problems.push(`bicepconfig.json does not turn on ${rule}`);
  }
  if (config.analyzers?.core?.enabled === false) problems.push('the core analyzer is off');
  return problems;
}

/** One API version per resource type, and the same one in docs/deploy.md's table. */
export function checkApiVersions(project: Project, sources: Sources): string[] {
  const problems: string[] = [];
  const versions = new Map<string, Set<string>>();
  for (const parsed of project.values()) {
    for (const d of parsed.decls) {
      if (d.kind !== 'resource') continue;
      const [type, version] = resourceType(d).split('@');
      if (!type || !version) continue;
      const key = type.toLowerCase();
      versions.set(key, (versions.get(key) ?? new Set()).add(version));
      if (/preview/i.test(version) && !key.endsWith('diagnosticsettings')) problems.push(`${parsed.file}: ${type}@${version} is a preview version`);
    }
  }
  const docs = sources[DOCS] ?? '';
  for (const [type, set] of versions) {
    if (set.size > 1) problems.push(`${type} uses several API versions: ${[...set].join(', ')}`);
    const version = [...set][0] ?? '';
    const row = docs.split('\n').find((line) => line.startsWith('|') && line.toLowerCase().includes(`\`${type}\``));
    if (!row) problems.push(`${DOCS} has no API version row for ${type}`);
    else if (!row.includes(version)) problems.push(`${DOCS} gives another API version for ${type} (template: ${version})`);
  }
  return problems;
}

export function checkSyntax(project: Project): string[] {
  const problems: string[] = [];
  for (const parsed of project.values()) for (const p of syntaxProblems(parsed.tree)) problems.push(`${parsed.file}: ${p}`);
  return problems;
}

export type CheckName =
  | 'syntax'
  | 'primaryServer'
  | 'replica'
  | 'database'
  | 'serverParameters'
  | 'metricAlerts'
  | 'alertWiring'
  | 'budget'
  | 'functionApp'
  | 'rolesAndEvents'
  | 'devIsCheap'
  | 'secrets'
  | 'descriptions'
  | 'locations'
  | 'planPasswords'
  | 'bicepConfig'
  | 'apiVersions';

export async function runChecks(sources: Sources): Promise<Record<CheckName, string[]>> {
  const project = await parseProject(sources);
  return {
    syntax: checkSyntax(project),
    primaryServer: checkPrimaryServer(project),
    replica: checkReplica(project),
    database: checkDatabase(project),
    serverParameters: checkServerParameters(project),
    metricAlerts: checkMetricAlerts(project),
    alertWiring: checkAlertWiring(project),
    budget: checkBudget(project),
    functionApp: checkFunctionApp(project),
    rolesAndEvents: checkRolesAndEvents(project),
    devIsCheap: checkDevIsCheap(project),
    secrets: checkSecrets(project),
    descriptions: checkDescriptions(project),
    locations: checkLocations(project),
    planPasswords: checkNoPlanPasswords(sources),
    bicepConfig: checkBicepConfig(sources),
    apiVersions: checkApiVersions(project, sources),
  };
}
