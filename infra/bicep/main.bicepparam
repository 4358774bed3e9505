// The parameter file azd reads (azd provision / azd up). It chooses the installation plan's
// production values or the cheap development ones from the azd environment value DBOPS_PROFILE
// (`azd env set DBOPS_PROFILE dev`; unset means prod). The values are those of
// main.prod.bicepparam and main.dev.bicepparam; test/infra/bicep-cli.test.ts checks that this
// file builds to exactly theirs for each profile.
using './main.bicep'

var profile = readEnvironmentVariable('DBOPS_PROFILE', 'prod')
var dev = profile == 'dev'

param environmentName = dev
  ? 'dev'
  : 'prod'
param replicaLocation = 'koreasouth'
param tags = dev
  ? {
    service: 'product-change'
    environment: 'development'
  }
  : {
    service: 'product-change'
    environment: 'production'
    owner: 'devops'
  }
param vnetName = dev
  ? 'vnet-phonebill-dev'
  : 'vnet-phonebill-prod'
param vnetAddressPrefix = dev
  ? '10.20.0.0/16'
  : '10.0.0.0/16'
param aksSubnetPrefix = dev
  ? '10.20.1.0/24'
  : '10.0.1.0/24'
param databaseSubnetPrefix = dev
  ? '10.20.2.0/24'
  : '10.0.2.0/24'
param functionSubnetPrefix = dev
  ? '10.20.3.0/24'
  : '10.0.3.0/24'
param managementSubnetPrefix = dev
  ? '10.20.4.0/24'
  : '10.0.4.0/24'
param privateEndpointSubnetPrefix = dev
  ? '10.20.5.0/24'
  : '10.0.5.0/24'
param replicaVnetName = dev
  ? 'vnet-phonebill-dev-koreasouth'
  : 'vnet-phonebill-prod-koreasouth'
param replicaVnetAddressPrefix = dev
  ? '10.21.0.0/16'
  : '10.1.0.0/16'
param replicaDatabaseSubnetPrefix = dev
  ? '10.21.2.0/24'
  : '10.1.2.0/24'
param postgresPrivateDnsZoneName = dev
  ? 'phonebill-dev.private.postgres.database.azure.com'
  : 'phonebill-prod.private.postgres.database.azure.com'
param serverName = dev
  ? 'phonebill-postgresql-dev'
  : 'phonebill-postgresql-prod'
param replicaName = dev
  ? 'phonebill-postgresql-dev-replica'
  : 'phonebill-postgresql-replica'
param deployReplica = dev
  ? false
  : true
param postgresVersion = '14'
param skuName = dev
  ? 'Standard_B2s'
  : 'Standard_D4s_v3'
param skuTier = dev
  ? 'Burstable'
  : 'GeneralPurpose'
param replicaSkuName = dev
  ? 'Standard_B2s'
  : 'Standard_D4s_v3'
param replicaSkuTier = dev
  ? 'Burstable'
  : 'GeneralPurpose'
param storageSizeGB = dev
  ? 32
  : 256
param storageAutoGrow = 'Enabled'
param highAvailabilityMode = dev
  ? 'Disabled'
  : 'ZoneRedundant'
param availabilityZone = '1'
param standbyAvailabilityZone = '2'
param backupRetentionDays = dev
  ? 7
  : 35
param geoRedundantBackup = dev
  ? 'Disabled'
  : 'Enabled'
param databaseName = 'product_change_db'
param sslMinProtocolVersion = 'TLSv1.3'
param allowedExtensions = 'pg_stat_statements,pgcrypto'
param passwordAuth = 'Disabled'
param useCustomerManagedKey = dev
  ? false
  : true
param keyRotationPeriod = 'P1Y'
param maintenanceWindow = {
  customWindow: 'Enabled'
  dayOfWeek: 0
  startHour: 17
  startMinute: 0
}
param lockPrimaryServer = dev
  ? false
  : true
param keyVaultName = dev
  ? 'kv-phonebill-dev'
  : 'kv-phonebill-prod'
param geoKeyVaultName = dev
  ? 'kv-phonebill-dev-geo'
  : 'kv-phonebill-prod-geo'
param teamsWebhookUrl = readEnvironmentVariable('DBOPS_TEAMS_WEBHOOK_URL', '')
param managedSecretNames = [
  'product-change-app-password'
  'product-change-readonly-password'
  'product-change-admin-password'
]
param workspaceName = dev
  ? 'law-phonebill-dev'
  : 'law-phonebill-prod'
param logRetentionInDays = 30
param logDailyQuotaGb = dev
  ? 1
  : 10
param functionAppName = dev
  ? 'func-dbops-phonebill-dev'
  : 'func-dbops-phonebill-prod'
param functionStorageAccountName = dev
  ? 'stdbopsphonebilldev'
  : 'stdbopsphonebillprod'
param wireFunctionEndpoints = bool(readEnvironmentVariable('DBOPS_WIRE_FUNCTION_ENDPOINTS', 'false'))
param deployerPrincipalId = readEnvironmentVariable('AZURE_PRINCIPAL_ID', '')
param deployerIpRanges = filter(split(readEnvironmentVariable('DBOPS_DEPLOYER_IP_RANGES', ''), ','), r => !empty(trim(r)))
// App Service authentication for runs that act on production over HTTP (main.prod.bicepparam, docs/deploy.md).
param functionAuthClientId = readEnvironmentVariable('DBOPS_AUTH_CLIENT_ID', '')
param productionApprovers = filter(split(readEnvironmentVariable('DBOPS_PRODUCTION_APPROVERS', ''), ','), a => !empty(trim(a)))
param replicaExists = bool(readEnvironmentVariable('DBOPS_REPLICA_EXISTS', 'false'))
param serverExists = bool(readEnvironmentVariable('DBOPS_SERVER_EXISTS', 'false'))
param acsEndpoint = readEnvironmentVariable('DBOPS_ACS_ENDPOINT', '')
param acsEmailSender = readEnvironmentVariable('DBOPS_ACS_EMAIL_SENDER', '')
param acsSmsFrom = readEnvironmentVariable('DBOPS_ACS_SMS_FROM', '')
param alertEmailAddresses = dev
  ? [
    'dev-team@phonebill.com'
  ]
  : [
    'dba-team@phonebill.com'
    'ops-team@phonebill.com'
  ]
param alertSmsReceivers = dev
  ? []
  : [
    {
      countryCode: '82'
      phoneNumber: '1012345678'
    }
  ]
param alertLanguage = 'ko'
param budgetAmount = dev
  ? 150
  : 1600
param budgetActualThresholds = [
  80
  100
]
param budgetForecastThresholds = [
  100
]
