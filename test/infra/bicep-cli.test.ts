// The official Bicep compiler and linter judge infra/bicep, and the ARM JSON they emit is checked
// where tree-sitter cannot resolve a value (a `? :` that depends on parameters, a value passed
// through a module). CI sets BICEP_CLI (.ci/run, scripts/install-bicep.sh), so it never skips.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNKNOWN, bicepVersion, copyWithPinnedLintDate, evaluate, findBicepCli, lintAll, moduleScope, runBicep, scopeOf, type ArmResource, type ArmScope, type ArmTemplate, type ArmValue, type BicepCli } from './arm.js';

const SOURCE = 'infra/bicep';
const found = findBicepCli();
const cli: BicepCli | undefined = 'missing' in found ? undefined : found;
const skipReason = 'missing' in found ? found.missing : '';
if (!cli) console.warn(`bicep-cli tests skipped: ${skipReason}`);
// The compiler and linter read a copy with the linter's clock at API_VERSIONS_REVIEWED (see arm.ts).
const ROOT = copyWithPinnedLintDate(SOURCE);
const DIR = path.join(ROOT, SOURCE);

const bicepFiles = [path.join(DIR, 'main.bicep'), ...readdirSync(path.join(DIR, 'modules')).filter((f) => f.endsWith('.bicep')).map((f) => path.join(DIR, 'modules', f))];
const paramFiles = readdirSync(DIR).filter((f) => f.endsWith('.bicepparam')).map((f) => path.join(DIR, f));

function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

describe.skipIf(!cli)(`the Bicep compiler and linter${cli ? '' : ` (skipped: ${skipReason})`}`, () => {
  let out = '';
  let template: ArmTemplate = { resources: [] };
  const params: Record<string, Record<string, ArmValue>> = {};

  beforeAll(() => {
    if (!cli) return;
    console.info(`bicep: ${bicepVersion(cli)}`);
    out = mkdtempSync(path.join(tmpdir(), 'dbops-bicep-'));
    const built = runBicep(cli, 'build', path.join(DIR, 'main.bicep'), ['--outfile', path.join(out, 'main.json')]);
    expect(built.diagnostics, 'bicep build main.bicep').toEqual([]);
    expect(built.status).toBe(0);
    template = parseJson<ArmTemplate>(readFileSync(path.join(out, 'main.json'), 'utf8'));
    for (const file of paramFiles) {
      const target = path.join(out, `${path.basename(file, '.bicepparam')}.parameters.json`);
      const r = runBicep(cli, 'build-params', file, ['--outfile', target]);
      expect(r.diagnostics, `bicep build-params ${file}`).toEqual([]);
      expect(r.status, `bicep build-params ${file}`).toBe(0);
      const json = parseJson<{ parameters: Record<string, { value: ArmValue }> }>(readFileSync(target, 'utf8'));
      const values: Record<string, ArmValue> = {};
      for (const [k, v] of Object.entries(json.parameters)) values[k] = v.value;
      params[path.basename(file)] = values;
    }
  }, 600_000);
  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
    rmSync(ROOT, { recursive: true, force: true });
  });

  it('builds main.bicep and every parameter file with no diagnostic', () => {
    expect(template.resources.length).toBeGreaterThan(5);
    expect(Object.keys(params).sort()).toEqual(paramFiles.map((f) => path.basename(f)).sort());
  });

  it('lints every file with 0 errors and 0 warnings', { timeout: 600_000 }, () => {
    if (!cli) return;
    expect(lintAll(cli, [...bicepFiles, ...paramFiles], [`${SOURCE}/**/*.bicep`, `${SOURCE}/*.bicepparam`], ROOT)).toEqual([]);
  });

  const scopes = (file: string, override: Record<string, ArmValue> = {}): ArmScope => {
    const given = params[file];
    if (!given) throw new Error(`no parameters for ${file}`);
    return scopeOf(template, { ...given, ...override });
  };
  const resource = (t: ArmTemplate, type: string, scope: ArmScope, name?: string): ArmResource => {
    const r = t.resources.find((x) => x.type === type && (name === undefined || evaluate(x.name, scope) === name));
    if (!r) throw new Error(`no ${type} ${name ?? ''}`);
    return r;
  };

  it('main.bicepparam, the file azd reads, builds to the prod or dev values from DBOPS_PROFILE', () => {
    if (!cli) return;
    for (const profile of ['prod', 'dev']) {
      const target = path.join(out, `main.${profile}.azd.parameters.json`);
      const r = runBicep(cli, 'build-params', path.join(DIR, 'main.bicepparam'), ['--outfile', target], { DBOPS_PROFILE: profile });
      expect(r.diagnostics).toEqual([]);
      const json = parseJson<{ parameters: Record<string, { value: ArmValue }> }>(readFileSync(target, 'utf8'));
      const azd: Record<string, ArmValue> = {};
      for (const [k, v] of Object.entries(json.parameters)) azd[k] = v.value;
      const own = params[`main.${profile}.bicepparam`] ?? {};
      // Compared with main.bicep's defaults filled in: a file may leave a default unsaid.
      expect(scopeOf(template, azd).parameters, profile).toEqual(scopeOf(template, own).parameters);
    }
  });

  it('sizes the replica like the primary, so it holds the inherited memory settings and can take over', () => {
    const prod = params['main.prod.bicepparam'] ?? {};
    expect(prod.deployReplica).toBe(true);
    expect(prod.replicaSkuName).toBe(prod.skuName);
    expect(prod.replicaSkuTier).toBe(prod.skuTier);
  });

  it('sends createMode Create / Replica (and the replica\'s source) only when the server does not exist yet', () => {
    for (const exists of [false, true]) {
      const { template: pg, scope } = moduleScope(template, scopes('main.prod.bicepparam', { replicaExists: exists, serverExists: exists }), 'postgres');
      const replica = resource(pg, 'Microsoft.DBforPostgreSQL/flexibleServers', scope, 'phonebill-postgresql-replica');
      expect(evaluate(replica.condition, scope)).toBe(true);
      const props = evaluate(replica.properties, scope) as Record<string, ArmValue>;
      expect(props.createMode ?? null).toBe(exists ? null : 'Replica');
      expect(props.sourceServerResourceId ?? null).toBe(exists ? null : UNKNOWN);
      const primary = resource(pg, 'Microsoft.DBforPostgreSQL/flexibleServers', scope, 'phonebill-postgresql-prod');
      expect((evaluate(primary.properties, scope) as Record<string, ArmValue>).createMode ?? null).toBe(exists ? null : 'Create');
    }
  });

  it('takes both branches of the server\'s ternaries from the parameter files', () => {
    const prod = moduleScope(template, scopes('main.prod.bicepparam'), 'postgres');
    const dev = moduleScope(template, scopes('main.dev.bicepparam'), 'postgres');
    const props = (m: typeof prod, name: string) => evaluate(resource(m.template, 'Microsoft.DBforPostgreSQL/flexibleServers', m.scope, name).properties, m.scope) as Record<string, Record<string, ArmValue>>;
    const p = props(prod, 'phonebill-postgresql-prod');
    const d = props(dev, 'phonebill-postgresql-dev');
    expect(p.highAvailability).toEqual({ mode: 'ZoneRedundant', standbyAvailabilityZone: '2' });
    expect(d.highAvailability).toEqual({ mode: 'Disabled', standbyAvailabilityZone: null });
    expect(p.dataEncryption?.type).toBe('AzureKeyVault');
    expect(p.dataEncryption?.geoBackupKeyURI).toBe(UNKNOWN); // the key vault module's output: known at deployment
    expect(d.dataEncryption).toEqual({ type: 'SystemManaged' });
    expect(p.administratorLogin ?? null).toBeNull();
    expect(p.authConfig).toMatchObject({ activeDirectoryAuth: 'Enabled', passwordAuth: 'Disabled' });
    const devReplica = resource(dev.template, 'Microsoft.DBforPostgreSQL/flexibleServers', dev.scope, 'phonebill-postgresql-dev-replica');
    expect(evaluate(devReplica.condition, dev.scope)).toBe(false);
  });

  it('reads the host names null-safely and gives an empty replica host without a replica', () => {
    const prod = moduleScope(template, scopes('main.prod.bicepparam'), 'postgres');
    const dev = moduleScope(template, scopes('main.dev.bicepparam'), 'postgres');
    const outputs = prod.template.outputs ?? {};
    expect(String(outputs.serverFqdn?.value)).toMatch(/^\[coalesce\(tryGet\(reference\(.*'fullyQualifiedDomainName'\), ''\)\]$/);
    expect(String(outputs.replicaFqdn?.value)).toContain("tryGet(");
    expect(evaluate(outputs.replicaFqdn?.value, dev.scope)).toBe('');
    expect(evaluate(outputs.replicaFqdn?.value, prod.scope)).toBe(UNKNOWN);
  });

  it('names the Entra administrator by the Function identity passed into its module', () => {
    const main = scopes('main.prod.bicepparam');
    const admin = template.resources.find((r) => r.type === 'Microsoft.Resources/deployments' && evaluate(r.name, main) === 'postgres-entra-admin');
    const passed = (admin?.properties as { parameters: Record<string, { value: string }> }).parameters;
    expect(passed.principalId?.value).toMatch(/^\[reference\(resourceId\('Microsoft\.Resources\/deployments', 'functionapp'\).*\.outputs\.principalId\.value\]$/);
    const m = moduleScope(template, main, 'postgres-entra-admin');
    expect(m.scope.parameters.serverName).toBe('phonebill-postgresql-prod');
    expect(m.scope.parameters.principalName).toBe('func-dbops-phonebill-prod');
    const res = resource(m.template, 'Microsoft.DBforPostgreSQL/flexibleServers/administrators', m.scope);
    expect(evaluate(res.properties, m.scope)).toMatchObject({ principalType: 'ServicePrincipal', principalName: 'func-dbops-phonebill-prod' });
  });

  it('gives the Function App the platform settings, the dbops settings, scm rules for the deployer and no ftpsState', () => {
    const m = moduleScope(template, scopes('main.prod.bicepparam', { deployerIpRanges: ['203.0.113.7/32'] }), 'functionapp');
    const site = resource(m.template, 'Microsoft.Web/sites', m.scope, 'func-dbops-phonebill-prod');
    const config = (evaluate(site.properties, m.scope) as Record<string, Record<string, ArmValue>>).siteConfig ?? {};
    expect(config).not.toHaveProperty('ftpsState');
    const settings = config.appSettings;
    expect(settings).toBe(UNKNOWN); // the connection string is known at run time; the expression is checked below
    const raw = String((site.properties as { siteConfig: { appSettings: string } }).siteConfig.appSettings);
    for (const name of ['AzureWebJobsStorage__accountName', 'AzureWebJobsStorage__credential', 'APPLICATIONINSIGHTS_CONNECTION_STRING', 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING']) expect(raw).toContain(`'${name}'`);
    expect(raw).toContain("items(parameters('dbopsSettings'))");
    const dbops = m.scope.parameters.dbopsSettings as Record<string, ArmValue>;
    expect(dbops.DBOPS_PG_AUTH).toBe('entra');
    expect(dbops.DBOPS_PG_USER).toBe('func-dbops-phonebill-prod');
    expect(dbops.DBOPS_ALERT_LANGUAGE).toBe('ko');
    // The metrics endpoints follow the regions the servers are deployed in.
    const inRegion = moduleScope(template, scopes('main.prod.bicepparam', { location: 'japaneast', replicaLocation: 'japanwest' }), 'functionapp');
    const regional = inRegion.scope.parameters.dbopsSettings as Record<string, ArmValue>;
    expect(regional.DBOPS_AZURE_LOCATION).toBe('japaneast');
    expect(regional.DBOPS_AZURE_MONITOR_ENDPOINT).toBe('https://japaneast.metrics.monitor.azure.com');
    expect(regional.DBOPS_AZURE_REPLICA_MONITOR_ENDPOINT).toBe('https://japanwest.metrics.monitor.azure.com');
    expect(config.scmIpSecurityRestrictionsUseMain).toBe(false);
    expect(config.scmIpSecurityRestrictionsDefaultAction).toBe('Deny');
    // The deployer's ranges reach the module and become the scm rules (an ARM copy loop).
    expect(m.scope.parameters.deployerIpRanges).toEqual(['203.0.113.7/32']);
    expect(String((site.properties as { siteConfig: { scmIpSecurityRestrictions: string } }).siteConfig.scmIpSecurityRestrictions)).toBe("[variables('scmRules')]");
    const loops = (m.template.variables?.copy ?? []) as Array<{ name: string; count: string; input: Record<string, string> }>;
    const scmLoop = loops.find((l) => l.name === 'scmRules');
    expect(scmLoop?.count).toBe("[length(parameters('deployerIpRanges'))]");
    expect(scmLoop?.input).toMatchObject({ action: 'Allow', ipAddress: "[parameters('deployerIpRanges')[copyIndex('scmRules')]]" });
    const scale = (evaluate(site.properties, m.scope) as { functionAppConfig: { scaleAndConcurrency: { maximumInstanceCount: number } } }).functionAppConfig.scaleAndConcurrency;
    expect(scale.maximumInstanceCount).toBeGreaterThanOrEqual(40);
    expect(scale.maximumInstanceCount).toBeLessThanOrEqual(1000);
  });

  it('configures App Service authentication (Entra, anonymous allowed, no token store) only when the app registration is given', () => {
    const clientId = '0d3c1f2a-5b6e-4c7d-8e9f-a0b1c2d3e4f5';
    const m = moduleScope(template, scopes('main.prod.bicepparam', { functionAuthClientId: clientId, productionApprovers: ['11111111-2222-4333-8444-555555555555'] }), 'functionapp');
    const auth = resource(m.template, 'Microsoft.Web/sites/config', m.scope);
    expect(String(auth.name)).toContain("'authsettingsV2'");
    expect(evaluate(auth.condition, m.scope)).toBe(true);
    const props = evaluate(auth.properties, m.scope) as Record<string, Record<string, ArmValue>>;
    expect(props.platform).toEqual({ enabled: true });
    expect(props.globalValidation).toEqual({ requireAuthentication: false, unauthenticatedClientAction: 'AllowAnonymous' });
    expect(props.login).toEqual({ tokenStore: { enabled: false } });
    const aad = (props.identityProviders as Record<string, Record<string, Record<string, ArmValue>>>).azureActiveDirectory ?? {};
    expect(aad.enabled).toBe(true);
    expect(aad.registration?.clientId).toBe(clientId);
    expect(aad.validation?.allowedAudiences).toEqual([`api://${clientId}`]);
    // The issuer is the deploying tenant's v2.0 endpoint in the deployment's cloud, known at deployment.
    const raw = (auth.properties as { identityProviders: { azureActiveDirectory: { registration: { openIdIssuer: string } } } }).identityProviders.azureActiveDirectory.registration.openIdIssuer;
    expect(raw).toBe("[format('{0}{1}/v2.0', environment().authentication.loginEndpoint, tenant().tenantId)]");
    // The approvers reach the app settings (join() is left to the deployment).
    const main = template.resources.find((r) => r.type === 'Microsoft.Resources/deployments' && r.name === 'functionapp');
    expect(JSON.stringify(main?.properties)).toContain("\"DBOPS_PRODUCTION_APPROVERS\":\"[join(parameters('productionApprovers'), ',')]\"");
    expect(evaluate(m.template.outputs?.productionApprovalOverHttp?.value, m.scope)).toMatch(/^Microsoft Entra tokens for api:\/\//);
    // Without a client id nothing is deployed, and the output says production runs stay refused.
    const none = moduleScope(template, scopes('main.prod.bicepparam', { functionAuthClientId: '' }), 'functionapp');
    expect(evaluate(resource(none.template, 'Microsoft.Web/sites/config', none.scope).condition, none.scope)).toBe(false);
    expect(evaluate(none.template.outputs?.productionApprovalOverHttp?.value, none.scope)).toMatch(/^refused/);
    expect(params['main.prod.bicepparam']?.functionAuthClientId).toBe('');
  });

  it('starts the budget in the month of the deployment and sends Key Vault expiry events twice', () => {
    expect(template.parameters?.budgetStartDate?.defaultValue).toBe("[utcNow('yyyy-MM-01')]");
    for (const file of paramFiles) expect(params[path.basename(file)]).not.toHaveProperty('budgetStartDate');
    const m = moduleScope(template, scopes('main.prod.bicepparam', { wireFunctionEndpoints: true }), 'eventgrid');
    const sub = resource(m.template, 'Microsoft.EventGrid/systemTopics/eventSubscriptions', m.scope, 'evgt-kv-phonebill-prod/dbops-keyvault-events');
    expect(evaluate(sub.condition, m.scope)).toBe(true);
    const filter = (evaluate(sub.properties, m.scope) as { filter: { includedEventTypes: ArmValue } }).filter;
    expect(filter.includedEventTypes).toEqual(['Microsoft.KeyVault.SecretNearExpiry', 'Microsoft.KeyVault.SecretExpired']);
  });
});
