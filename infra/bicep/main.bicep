metadata description = 'Product-Change production database (Azure Database for PostgreSQL flexible server, installation plan sections 2-7 and 9) and the dbops operations Function App.'

targetScope = 'resourceGroup'

// ---------------------------------------------------------------- general

@description('Short environment name used in resource names and tags (azd: AZURE_ENV_NAME).')
@minLength(2)
@maxLength(12)
param environmentName string

@description('Azure region of the primary resources (plan 2.2.1: Korea Central). Defaults to the resource group\'s region.')
param location string = resourceGroup().location

@description('Azure region of the read replica, the replica network and the geo-backup key (plan 2.2.3, 5.1.2: Korea South).')
param replicaLocation string

@description('Tags applied to every resource.')
param tags object = {}

// ---------------------------------------------------------------- network (plan 2.3, 4.3.2, 7.1.1)

@description('Primary virtual network name (plan 7.1.1: vnet-phonebill-prod).')
param vnetName string

@description('Primary VNet address space (plan 7.1.1: 10.0.0.0/16).')
param vnetAddressPrefix string

@description('AKS application subnet (plan 4.3.2: 10.0.1.0/24).')
param aksSubnetPrefix string

@description('Delegated database subnet (plan 2.3.1 / 7.1.1: 10.0.2.0/24).')
param databaseSubnetPrefix string

@description('dbops Function App integration subnet.')
param functionSubnetPrefix string

@description('Management subnet (plan 4.3.2: 10.0.4.0/24).')
param managementSubnetPrefix string

@description('Private endpoint subnet (Key Vault).')
param privateEndpointSubnetPrefix string

@description('Replica region VNet name.')
param replicaVnetName string

@description('Replica region VNet address space.')
param replicaVnetAddressPrefix string

@description('Replica region delegated database subnet.')
param replicaDatabaseSubnetPrefix string

@description('Private DNS zone for the servers (plan 7.1.2: phonebill-prod.private.postgres.database.azure.com).')
param postgresPrivateDnsZoneName string

// ---------------------------------------------------------------- PostgreSQL (plan 2.2, 3.1, 5.1)

@description('Primary server name (plan 7.1.2: phonebill-postgresql-prod).')
@minLength(3)
@maxLength(63)
param serverName string

@description('Read replica name (plan 7.1.3: phonebill-postgresql-replica).')
@minLength(3)
@maxLength(63)
param replicaName string

@description('Deploy the read replica in replicaLocation (plan 2.2.3).')
param deployReplica bool

@description('PostgreSQL major version (plan 2.2.1: 14; Azure offers 14 to 18). Changing it on an existing server is a major-version upgrade: use dbops version-upgrade, not a deployment.')
@allowed([
  '14'
  '15'
  '16'
  '17'
  '18'
])
param postgresVersion string

@description('Primary compute SKU (plan 2.2.1: Standard_D4s_v3).')
param skuName string

@description('Primary pricing tier (plan 2.2.1: GeneralPurpose).')
@allowed([
  'Burstable'
  'GeneralPurpose'
  'MemoryOptimized'
])
param skuTier string

@description('Replica compute SKU (plan 2.2.3: Standard_D2s_v3).')
param replicaSkuName string

@description('Replica pricing tier.')
@allowed([
  'Burstable'
  'GeneralPurpose'
  'MemoryOptimized'
])
param replicaSkuTier string

@description('Storage in GiB (plan 3.1.1: 256 GB Premium SSD).')
param storageSizeGB int

@description('Storage auto-grow (plan 3.1.1: enabled).')
@allowed([
  'Enabled'
  'Disabled'
])
param storageAutoGrow string

@description('High availability mode (plan 2.2.2: ZoneRedundant).')
@allowed([
  'Disabled'
  'SameZone'
  'ZoneRedundant'
])
param highAvailabilityMode string

@description('Primary availability zone (plan 2.2.2: 1).')
param availabilityZone string

@description('Standby availability zone (plan 2.2.2: 2).')
param standbyAvailabilityZone string

@description('Backup retention days (plan 5.1.1: 35).')
@minValue(7)
@maxValue(35)
param backupRetentionDays int

@description('Geo-redundant backup (plan 5.1.2: enabled).')
@allowed([
  'Enabled'
  'Disabled'
])
param geoRedundantBackup string

@description('Application database (plan 1.1: product_change_db).')
param databaseName string

@description('Minimum TLS version (plan 2.3.1 / 4.2.2: TLS 1.3). A parameter so it can be lowered to TLSv1.2 for a client that cannot do 1.3.')
@allowed([
  'TLSv1.2'
  'TLSv1.3'
])
param sslMinProtocolVersion string

@description('Extensions allow-listed in azure.extensions.')
param allowedExtensions string

@description('Password authentication next to Microsoft Entra authentication. Disabled keeps the server Entra-only.')
@allowed([
  'Enabled'
  'Disabled'
])
// An on/off switch for password sign-in, not a secret: the name only looks like one.
#disable-next-line secure-secrets-in-params
param passwordAuth string = 'Disabled'

@description('Administrator login, only with passwordAuth Enabled.')
param administratorLogin string = ''

@description('Administrator password, only with passwordAuth Enabled; pass it at deploy time, never in a parameter file.')
@secure()
param administratorLoginPassword string = ''

@description('Encrypt with customer-managed keys in Key Vault (plan 4.2.1).')
param useCustomerManagedKey bool

@description('Rotation period of the customer-managed keys (plan 4.2.1: yearly).')
param keyRotationPeriod string = 'P1Y'

@description('Custom maintenance window of the primary (day 0 = Sunday, UTC).')
param maintenanceWindow object

@description('Put a CanNotDelete lock on the primary server.')
param lockPrimaryServer bool

// ---------------------------------------------------------------- Key Vault, monitoring, dbops

@description('Key Vault name (3-24 characters, globally unique).')
@minLength(3)
@maxLength(24)
param keyVaultName string

@description('Key Vault name in replicaLocation for the geo-backup key (3-24 characters, globally unique).')
@minLength(3)
@maxLength(24)
param geoKeyVaultName string

@description('Microsoft Teams incoming webhook URL; stored in Key Vault, referenced by the Function App. Pass at deploy time (azd: DBOPS_TEAMS_WEBHOOK_URL environment value).')
@secure()
param teamsWebhookUrl string = ''

@description('Key Vault secrets dbops manages (their SecretNearExpiry events start password-rotation).')
param managedSecretNames array

@description('Log Analytics workspace name (plan 7.4.1: law-phonebill-prod).')
param workspaceName string

@description('Log Analytics retention in days.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int

@description('Log Analytics daily cap in GB; -1 for none.')
param logDailyQuotaGb int

@description('dbops Function App name; also its Entra principal name in PostgreSQL.')
@minLength(2)
@maxLength(60)
param functionAppName string

@description('Storage account of the Function App (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param functionStorageAccountName string

@description('Public CIDR ranges allowed to call the Function App besides Action Groups and Event Grid.')
param functionAllowedIpRanges array = []

@description('Client (application) id of the Microsoft Entra app registration for the Function App (azd: DBOPS_AUTH_CLIENT_ID; identifier URI api://<client id>). Set, App Service authentication validates Entra bearer tokens so that the approvers in productionApprovers can run what acts on production over HTTP (version-upgrade plan=upgrade, failover-check promote-replica/switchover/drill). Empty: no authentication config, and those runs are refused over HTTP with 403 (docs/deploy.md).')
param functionAuthClientId string = ''

@description('Object ids of the Microsoft Entra users who may run what acts on production over HTTP (DBOPS_PRODUCTION_APPROVERS; azd: DBOPS_PRODUCTION_APPROVERS, comma-separated). The app settings are rewritten on each provision, so the list lives here. Empty: nobody may.')
param productionApprovers array = []

@description('Create the Event Grid subscriptions and the action-group function receiver. They need the functions deployed: azd provisions with false, deploys, then provisions again with true (azure.yaml postdeploy hook).')
param wireFunctionEndpoints bool = false

@description('Name of the HTTP function behind POST /api/alerts/resource-health (must match the name dbops registers).')
param alertFunctionName string = 'alertsResourceHealth'

@description('Azure Communication Services endpoint dbops sends e-mail and SMS through (DBOPS_ACS_ENDPOINT).')
param acsEndpoint string

@description('Sender address of dbops alert e-mails: a verified address of the Communication Services e-mail domain (DBOPS_ACS_EMAIL_SENDER). Empty: no e-mail alerts.')
param acsEmailSender string = ''

@description('Sending number of dbops alert SMS, in E.164 form, acquired in Communication Services (DBOPS_ACS_SMS_FROM). Empty: no SMS alerts.')
param acsSmsFrom string = ''

@description('Alert e-mail recipients (plan appendix B: ops and DBA teams).')
param alertEmailAddresses array

@description('Alert SMS receivers as { countryCode, phoneNumber } (plan appendix C).')
param alertSmsReceivers array

@description('Language of dbops notifications (DBOPS_ALERT_LANGUAGE).')
@allowed([
  'ko'
  'en'
])
param alertLanguage string

@description('Monthly budget (plan 9.2.1: 1600).')
@minValue(1)
param budgetAmount int

@description('First day of the budget, yyyy-MM-01. Defaults to the first day of the month of the deployment: Azure refuses a start date in a month that has passed.')
param budgetStartDate string = utcNow('yyyy-MM-01')

@description('Actual-cost notification thresholds in percent of the budget.')
param budgetActualThresholds array

@description('Forecast-cost notification thresholds in percent of the budget.')
param budgetForecastThresholds array

@description('Object id of the deploying principal (azd: AZURE_PRINCIPAL_ID); gets blob access to upload the function package. Empty to skip.')
param deployerPrincipalId string = ''

@description('Public CIDR ranges allowed to the Function App\'s scm (deployment) endpoint, e.g. the deployer\'s address as a /32 (azd: DBOPS_DEPLOYER_IP_RANGES, comma-separated). azd publishes the package to the scm endpoint from the deployer\'s machine.')
param deployerIpRanges array = []

@description('The read replica exists already (azd: DBOPS_REPLICA_EXISTS, set by the postprovision hook). createMode Replica is sent only when it does not, so a later provision is an update, not a second creation.')
param replicaExists bool = false

@description('The primary server exists already (azd: DBOPS_SERVER_EXISTS, set by the postprovision hook). createMode Create is sent only when it does not.')
param serverExists bool = false

// ---------------------------------------------------------------- the plan's values

// Plan 3.1.2, 4.3.1, 7.2.2, 7.3.1. Units are the server's: shared_buffers, effective_cache_size and
// wal_buffers in 8 kB pages, work_mem and maintenance_work_mem in kB, max_wal_size in MB,
// idle_in_transaction_session_timeout and log_min_duration_statement in ms.
var serverParameters = {
  shared_buffers: '524288'
  effective_cache_size: '1572864'
  work_mem: '32768'
  maintenance_work_mem: '524288'
  max_connections: '200'
  idle_in_transaction_session_timeout: '1800000'
  checkpoint_completion_target: '0.9'
  wal_buffers: '2048'
  max_wal_size: '4096'
  log_statement: 'all'
  log_duration: 'on'
  log_min_duration_statement: '1000'
  log_connections: 'on'
  log_disconnections: 'on'
  log_hostname: 'on'
  log_line_prefix: '%t [%p]: user=%u,db=%d,app=%a,client=%h '
  track_activities: 'on'
  track_counts: 'on'
  track_functions: 'all'
  shared_preload_libraries: 'pg_stat_statements'
  'pg_stat_statements.track': 'all'
  'azure.extensions': allowedExtensions
  require_secure_transport: 'on'
  ssl_min_protocol_version: sslMinProtocolVersion
  password_encryption: 'scram-sha-256'
  'metrics.collector_database_activity': 'on'
}

var replicaServerParameters = {
  log_statement: 'all'
  log_duration: 'on'
  log_min_duration_statement: '1000'
  log_connections: 'on'
  log_disconnections: 'on'
  log_line_prefix: '%t [%p]: user=%u,db=%d,app=%a,client=%h '
  require_secure_transport: 'on'
  ssl_min_protocol_version: sslMinProtocolVersion
  'metrics.collector_database_activity': 'on'
}

// Plan 6.1.1 (thresholds, levels), 6.2.2 (durations) and 7.4.2 (cpu, connections).
// Azure metric names: iops_percent is disk_iops_consumed_percentage, replica_lag_seconds is
// physical_replication_delay_in_seconds (measured on the replica), connection_failed is connections_failed.
var metricAlertRules = [
  {
    name: 'alert-high-cpu'
    description: '데이터베이스 CPU 사용률이 80%를 초과했습니다'
    metricName: 'cpu_percent'
    operator: 'GreaterThan'
    threshold: 80
    aggregation: 'Average'
    windowSize: 'PT5M'
    frequency: 'PT1M'
    severity: 2
    target: 'primary'
    actionGroup: 'warning'
  }
  {
    name: 'alert-high-memory'
    description: '데이터베이스 메모리 사용률이 85%를 초과했습니다'
    metricName: 'memory_percent'
    operator: 'GreaterThan'
    threshold: 85
    aggregation: 'Average'
    windowSize: 'PT5M'
    frequency: 'PT1M'
    severity: 2
    target: 'primary'
    actionGroup: 'warning'
  }
  {
    name: 'alert-high-storage'
    description: '데이터베이스 스토리지 사용률이 75%를 초과했습니다'
    metricName: 'storage_percent'
    operator: 'GreaterThan'
    threshold: 75
    aggregation: 'Average'
    windowSize: 'PT15M'
    frequency: 'PT5M'
    severity: 2
    target: 'primary'
    actionGroup: 'warning'
  }
  {
    name: 'alert-high-iops'
    description: '데이터베이스 IOPS 사용률이 80%를 초과했습니다'
    metricName: 'disk_iops_consumed_percentage'
    operator: 'GreaterThan'
    threshold: 80
    aggregation: 'Average'
    windowSize: 'PT5M'
    frequency: 'PT1M'
    severity: 2
    target: 'primary'
    actionGroup: 'warning'
  }
  {
    name: 'alert-high-connections'
    description: '데이터베이스 연결 수가 150을 초과했습니다'
    metricName: 'active_connections'
    operator: 'GreaterThan'
    threshold: 150
    aggregation: 'Average'
    windowSize: 'PT1M'
    frequency: 'PT1M'
    severity: 1
    target: 'primary'
    actionGroup: 'critical'
  }
  {
    name: 'alert-connection-failed'
    description: '데이터베이스 연결 실패가 발생했습니다'
    metricName: 'connections_failed'
    operator: 'GreaterThan'
    threshold: 0
    aggregation: 'Total'
    windowSize: 'PT1M'
    frequency: 'PT1M'
    severity: 1
    target: 'primary'
    actionGroup: 'critical'
  }
  {
    name: 'alert-replica-lag'
    description: '복제 지연이 300초를 초과했습니다'
    metricName: 'physical_replication_delay_in_seconds'
    operator: 'GreaterThan'
    threshold: 300
    aggregation: 'Maximum'
    windowSize: 'PT5M'
    frequency: 'PT1M'
    severity: 1
    target: 'replica'
    actionGroup: 'critical'
  }
]

// Flexible servers have no failover or promote action: a restart with failover is restart/action
// and a replica promote or switchover is a PATCH of the replica, i.e. flexibleServers/write.
var serverOperationNames = [
  'Microsoft.DBforPostgreSQL/flexibleServers/restart/action'
  'Microsoft.DBforPostgreSQL/flexibleServers/write'
]

var allTags = union(tags, {
  'azd-env-name': environmentName
  workload: 'product-change-db'
})
var appInsightsName = 'appi-dbops-${environmentName}'
var geoBackupWithCmk = useCustomerManagedKey && geoRedundantBackup == 'Enabled'

// ---------------------------------------------------------------- modules

module network 'modules/network.bicep' = {
  name: 'network'
  params: {
    location: location
    replicaLocation: replicaLocation
    deployReplicaNetwork: deployReplica
    vnetName: vnetName
    vnetAddressPrefix: vnetAddressPrefix
    aksSubnetPrefix: aksSubnetPrefix
    databaseSubnetPrefix: databaseSubnetPrefix
    functionSubnetPrefix: functionSubnetPrefix
    managementSubnetPrefix: managementSubnetPrefix
    privateEndpointSubnetPrefix: privateEndpointSubnetPrefix
    replicaVnetName: replicaVnetName
    replicaVnetAddressPrefix: replicaVnetAddressPrefix
    replicaDatabaseSubnetPrefix: replicaDatabaseSubnetPrefix
    postgresPrivateDnsZoneName: postgresPrivateDnsZoneName
    tags: allTags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    workspaceName: workspaceName
    appInsightsName: appInsightsName
    retentionInDays: logRetentionInDays
    dailyQuotaGb: logDailyQuotaGb
    tags: allTags
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    location: location
    geoLocation: replicaLocation
    vaultName: keyVaultName
    geoVaultName: geoKeyVaultName
    useCustomerManagedKey: useCustomerManagedKey
    deployGeoBackupKey: geoBackupWithCmk
    identityNamePrefix: 'id-${serverName}'
    keySize: 3072
    keyRotationPeriod: keyRotationPeriod
    privateEndpointSubnetId: network.outputs.privateEndpointSubnetId
    vaultPrivateDnsZoneId: network.outputs.vaultPrivateDnsZoneId
    teamsWebhookUrl: teamsWebhookUrl
    storeTeamsWebhook: !empty(teamsWebhookUrl)
    teamsWebhookSecretName: 'dbops-teams-webhook-url'
    softDeleteRetentionInDays: 90
    tags: allTags
  }
}

module postgres 'modules/postgres.bicep' = {
  name: 'postgres'
  params: {
    location: location
    replicaLocation: replicaLocation
    serverName: serverName
    replicaName: replicaName
    deployReplica: deployReplica
    replicaExists: replicaExists
    serverExists: serverExists
    postgresVersion: postgresVersion
    skuName: skuName
    skuTier: skuTier
    replicaSkuName: replicaSkuName
    replicaSkuTier: replicaSkuTier
    storageSizeGB: storageSizeGB
    storageAutoGrow: storageAutoGrow
    highAvailabilityMode: highAvailabilityMode
    availabilityZone: availabilityZone
    standbyAvailabilityZone: standbyAvailabilityZone
    backupRetentionDays: backupRetentionDays
    geoRedundantBackup: geoRedundantBackup
    delegatedSubnetId: network.outputs.databaseSubnetId
    replicaDelegatedSubnetId: network.outputs.replicaDatabaseSubnetId
    privateDnsZoneId: network.outputs.postgresPrivateDnsZoneId
    passwordAuth: passwordAuth
    administratorLogin: administratorLogin
    administratorLoginPassword: administratorLoginPassword
    databaseName: databaseName
    serverParameters: serverParameters
    replicaServerParameters: replicaServerParameters
    useCustomerManagedKey: useCustomerManagedKey
    dataKeyUri: keyVault.outputs.dataKeyUri
    serverIdentityId: keyVault.outputs.serverIdentityId
    geoKeyUri: keyVault.outputs.geoKeyUri
    geoIdentityId: keyVault.outputs.geoIdentityId
    maintenanceWindow: maintenanceWindow
    workspaceId: monitoring.outputs.workspaceId
    lockPrimaryServer: lockPrimaryServer
    tags: allTags
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    location: location
    functionAppName: functionAppName
    planName: 'plan-dbops-${environmentName}'
    storageAccountName: functionStorageAccountName
    appInsightsName: appInsightsName
    functionSubnetId: network.outputs.functionSubnetId
    nodeVersion: '22'
    instanceMemoryMB: 2048
    maximumInstanceCount: 40
    allowedInboundIpRanges: functionAllowedIpRanges
    deployerPrincipalId: deployerPrincipalId
    deployerIpRanges: deployerIpRanges
    authClientId: functionAuthClientId
    tags: allTags
    dbopsSettings: {
      DBOPS_PG_HOST: postgres.outputs.serverFqdn
      DBOPS_PG_DATABASE: postgres.outputs.databaseName
      DBOPS_PG_USER: functionAppName
      DBOPS_PG_AUTH: 'entra'
      DBOPS_REPLICA_HOST: postgres.outputs.replicaFqdn
      DBOPS_AZURE_SUBSCRIPTION_ID: subscription().subscriptionId
      DBOPS_AZURE_RESOURCE_GROUP: resourceGroup().name
      DBOPS_AZURE_SERVER_NAME: postgres.outputs.serverName
      DBOPS_AZURE_REPLICA_NAME: postgres.outputs.replicaName
      DBOPS_KEYVAULT_URL: keyVault.outputs.vaultUri
      DBOPS_COST_SCOPE: resourceGroup().id
      DBOPS_BUDGET_AMOUNT: string(budgetAmount)
      DBOPS_LOG_ANALYTICS_WORKSPACE_ID: monitoring.outputs.workspaceCustomerId
      DBOPS_ACS_ENDPOINT: acsEndpoint
      DBOPS_ALERT_EMAIL_TO: join(alertEmailAddresses, ',')
      DBOPS_ALERT_SMS_TO: join(map(alertSmsReceivers, r => '+${r.countryCode}${r.phoneNumber}'), ',')
      DBOPS_TEAMS_WEBHOOK_URL: empty(teamsWebhookUrl) ? '' : '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.teamsWebhookSecretUri})'
      DBOPS_ALERT_LANGUAGE: alertLanguage
      DBOPS_ACS_EMAIL_SENDER: acsEmailSender
      DBOPS_ACS_SMS_FROM: acsSmsFrom
      DBOPS_ENVIRONMENT: environmentName
      // Metrics are read in the region a resource lives in: the endpoints follow the servers' regions.
      DBOPS_AZURE_LOCATION: location
      DBOPS_AZURE_MONITOR_ENDPOINT: 'https://${location}.metrics.monitor.azure.com'
      DBOPS_AZURE_REPLICA_MONITOR_ENDPOINT: 'https://${replicaLocation}.metrics.monitor.azure.com'
      // Production: a server setting that differs from the plan is a warning, not a note.
      DBOPS_VERIFY_SETTINGS_SEVERITY: 'warning'
      // Production: the PostgreSQL major's support dates warn 180 days before standard support ends, critical after.
      DBOPS_VERSION_SUPPORT_SEVERITY: 'dated'
      DBOPS_PRODUCTION_APPROVERS: join(productionApprovers, ',')
    }
  }
}

// The Function's identity is a Microsoft Entra administrator of the primary (principal name =
// Function App name); replicas take their administrators from the primary. The administrator's
// name is the identity's object id, known only once the Function App exists, so it is a module
// parameter (BCP120: a resource name must be known when the deployment starts).
module functionEntraAdmin 'modules/postgres-entra-admin.bicep' = {
  name: 'postgres-entra-admin'
  params: {
    serverName: serverName
    // The name is the object id, so what-if cannot predict it before the Function App exists.
    #disable-next-line what-if-short-circuiting
    principalId: functionApp.outputs.principalId
    principalName: functionAppName
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  params: {
    // The role assignments are named by guids of the object id: unknown to what-if until it exists.
    #disable-next-line what-if-short-circuiting
    principalId: functionApp.outputs.principalId
    vaultName: keyVaultName
    functionAppName: functionAppName
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    environmentName: environmentName
    primaryServerId: postgres.outputs.serverId
    replicaServerId: postgres.outputs.replicaId
    metricAlertRules: metricAlertRules
    alertEmailAddresses: alertEmailAddresses
    alertSmsReceivers: alertSmsReceivers
    wireFunctionEndpoints: wireFunctionEndpoints
    functionAppId: functionApp.outputs.functionAppId
    alertFunctionName: alertFunctionName
    functionHostName: functionApp.outputs.defaultHostName
    tags: allTags
  }
}

module eventGrid 'modules/eventgrid.bicep' = {
  name: 'eventgrid'
  params: {
    vaultLocation: location
    vaultName: keyVaultName
    serverIds: deployReplica ? [
      postgres.outputs.serverId
      postgres.outputs.replicaId
    ] : [
      postgres.outputs.serverId
    ]
    serverOperationNames: serverOperationNames
    managedSecretNames: managedSecretNames
    wireFunctionEndpoints: wireFunctionEndpoints
    functionAppName: functionApp.outputs.functionAppName
    storageAccountName: functionStorageAccountName
    deadLetterContainerName: functionApp.outputs.deadLetterContainerName
    tags: allTags
  }
}

module budget 'modules/budget.bicep' = {
  name: 'budget'
  params: {
    budgetName: 'budget-${resourceGroup().name}'
    amount: budgetAmount
    startDate: budgetStartDate
    actualThresholds: budgetActualThresholds
    forecastThresholds: budgetForecastThresholds
    contactEmails: alertEmailAddresses
    actionGroupId: alerts.outputs.criticalActionGroupId
  }
}

module workbook 'modules/workbook.bicep' = {
  name: 'workbook'
  params: {
    location: location
    displayName: 'Product-Change PostgreSQL operations (${environmentName})'
    serverId: postgres.outputs.serverId
    replicaId: postgres.outputs.replicaId
    workspaceId: monitoring.outputs.workspaceId
    appInsightsId: monitoring.outputs.appInsightsId
    tags: allTags
  }
}

// ---------------------------------------------------------------- outputs (no secrets)

@description('Host name of the primary server.')
output DBOPS_PG_HOST string = postgres.outputs.serverFqdn

@description('Host name of the read replica (empty without one).')
output DBOPS_REPLICA_HOST string = postgres.outputs.replicaFqdn

@description('Name of the dbops Function App.')
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.functionAppName

@description('Key Vault URI.')
output DBOPS_KEYVAULT_URL string = keyVault.outputs.vaultUri

@description('Name of the primary server (the postprovision hook restarts it when a static parameter is pending).')
output AZURE_POSTGRES_SERVER_NAME string = postgres.outputs.serverName

@description('Name of the read replica (empty without one).')
output AZURE_POSTGRES_REPLICA_NAME string = postgres.outputs.replicaName

@description('Resource group of the deployment.')
output AZURE_RESOURCE_GROUP string = resourceGroup().name

@description('Who may act on production over HTTP: refused without functionAuthClientId, else signed-in Entra callers listed in DBOPS_PRODUCTION_APPROVERS.')
output DBOPS_PRODUCTION_APPROVAL_OVER_HTTP string = functionApp.outputs.productionApprovalOverHttp

@description('Resource id of the operations workbook.')
output WORKBOOK_ID string = workbook.outputs.workbookId
