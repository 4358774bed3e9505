// A small, cheap development environment: no HA, no replica, Burstable compute,
// service-managed keys, local backups only.
using './main.bicep'

param environmentName = 'dev'
param replicaLocation = 'koreasouth'
param tags = {
  service: 'product-change'
  environment: 'development'
}

param vnetName = 'vnet-phonebill-dev'
param vnetAddressPrefix = '10.20.0.0/16'
param aksSubnetPrefix = '10.20.1.0/24'
param databaseSubnetPrefix = '10.20.2.0/24'
param functionSubnetPrefix = '10.20.3.0/24'
param managementSubnetPrefix = '10.20.4.0/24'
param privateEndpointSubnetPrefix = '10.20.5.0/24'
param replicaVnetName = 'vnet-phonebill-dev-koreasouth'
param replicaVnetAddressPrefix = '10.21.0.0/16'
param replicaDatabaseSubnetPrefix = '10.21.2.0/24'
param postgresPrivateDnsZoneName = 'phonebill-dev.private.postgres.database.azure.com'

param serverName = 'phonebill-postgresql-dev'
param replicaName = 'phonebill-postgresql-dev-replica'
param deployReplica = false
param postgresVersion = '14'
param skuName = 'Standard_B2s'
param skuTier = 'Burstable'
param replicaSkuName = 'Standard_B2s'
param replicaSkuTier = 'Burstable'
param storageSizeGB = 32
param storageAutoGrow = 'Enabled'
param highAvailabilityMode = 'Disabled'
param availabilityZone = '1'
param standbyAvailabilityZone = '2'
param backupRetentionDays = 7
param geoRedundantBackup = 'Disabled'
param databaseName = 'product_change_db'
param sslMinProtocolVersion = 'TLSv1.3'
param allowedExtensions = 'pg_stat_statements,pgcrypto'
param passwordAuth = 'Disabled'
param useCustomerManagedKey = false
param maintenanceWindow = {
  customWindow: 'Enabled'
  dayOfWeek: 0
  startHour: 17
  startMinute: 0
}
param lockPrimaryServer = false

param keyVaultName = 'kv-phonebill-dev'
param geoKeyVaultName = 'kv-phonebill-dev-geo'
param teamsWebhookUrl = readEnvironmentVariable('DBOPS_TEAMS_WEBHOOK_URL', '')
param managedSecretNames = [
  'product-change-app-password'
  'product-change-readonly-password'
  'product-change-admin-password'
]
param workspaceName = 'law-phonebill-dev'
param logRetentionInDays = 30
param logDailyQuotaGb = 1

param functionAppName = 'func-dbops-phonebill-dev'
param functionStorageAccountName = 'stdbopsphonebilldev'
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
param alertEmailAddresses = [
  'dev-team@phonebill.com'
]
param alertSmsReceivers = []
param alertLanguage = 'ko'

param budgetAmount = 150
param budgetActualThresholds = [
  80
  100
]
param budgetForecastThresholds = [
  100
]
