// Production values from the installation plan (sections 2, 3, 4, 5, 6, 7, 9).
// No secret belongs here: the Teams webhook URL comes from the environment at deploy time.
using './main.bicep'

param environmentName = 'prod'
param replicaLocation = 'koreasouth'
param tags = {
  service: 'product-change'
  environment: 'production'
  owner: 'devops'
}

param vnetName = 'vnet-phonebill-prod'
param vnetAddressPrefix = '10.0.0.0/16'
param aksSubnetPrefix = '10.0.1.0/24'
param databaseSubnetPrefix = '10.0.2.0/24'
param functionSubnetPrefix = '10.0.3.0/24'
param managementSubnetPrefix = '10.0.4.0/24'
param privateEndpointSubnetPrefix = '10.0.5.0/24'
param replicaVnetName = 'vnet-phonebill-prod-koreasouth'
param replicaVnetAddressPrefix = '10.1.0.0/16'
param replicaDatabaseSubnetPrefix = '10.1.2.0/24'
param postgresPrivateDnsZoneName = 'phonebill-prod.private.postgres.database.azure.com'

param serverName = 'phonebill-postgresql-prod'
param replicaName = 'phonebill-postgresql-replica'
param deployReplica = true
// The plan's 14. Azure's standard support for 14 ends 2026-12-11 (community end of life 2026-11-12); from 2026-12-12 a 14 server is in paid extended support until it is upgraded (docs/jobs/version-upgrade.md). For a new installation choose '17' (standard support to 2029-11-08), a deviation the plan's owners decide (docs/operations-plan.md).
param postgresVersion = '14'
param skuName = 'Standard_D4s_v3'
param skuTier = 'GeneralPurpose'
// Plan 2.2.3 says Standard_D2s_v3; a replica inherits the primary's memory settings and must be able
// to take over, so it has the primary's size (docs/operations-plan.md, deviations).
param replicaSkuName = 'Standard_D4s_v3'
param replicaSkuTier = 'GeneralPurpose'
param storageSizeGB = 256
param storageAutoGrow = 'Enabled'
param highAvailabilityMode = 'ZoneRedundant'
param availabilityZone = '1'
param standbyAvailabilityZone = '2'
param backupRetentionDays = 35
param geoRedundantBackup = 'Enabled'
param databaseName = 'product_change_db'
param sslMinProtocolVersion = 'TLSv1.3'
param allowedExtensions = 'pg_stat_statements,pgcrypto'
param passwordAuth = 'Disabled'
param useCustomerManagedKey = true
param keyRotationPeriod = 'P1Y'
// Sunday 17:00 UTC = Monday 02:00 KST, the plan's off-peak window (5.1.1: 02:00-04:00 KST).
param maintenanceWindow = {
  customWindow: 'Enabled'
  dayOfWeek: 0
  startHour: 17
  startMinute: 0
}
param lockPrimaryServer = true

param keyVaultName = 'kv-phonebill-prod'
param geoKeyVaultName = 'kv-phonebill-prod-geo'
param teamsWebhookUrl = readEnvironmentVariable('DBOPS_TEAMS_WEBHOOK_URL', '')
param managedSecretNames = [
  'product-change-app-password'
  'product-change-readonly-password'
  'product-change-admin-password'
]
param workspaceName = 'law-phonebill-prod'
param logRetentionInDays = 30
param logDailyQuotaGb = 10

param functionAppName = 'func-dbops-phonebill-prod'
param functionStorageAccountName = 'stdbopsphonebillprod'
param wireFunctionEndpoints = bool(readEnvironmentVariable('DBOPS_WIRE_FUNCTION_ENDPOINTS', 'false'))
param deployerPrincipalId = readEnvironmentVariable('AZURE_PRINCIPAL_ID', '')
param deployerIpRanges = filter(split(readEnvironmentVariable('DBOPS_DEPLOYER_IP_RANGES', ''), ','), r => !empty(trim(r)))
// Who may act on production over HTTP (docs/deploy.md). Create the app registration once:
//   appId=$(az ad app create --display-name func-dbops-phonebill-prod --sign-in-audience AzureADMyOrg --query appId -o tsv)
//   az ad app update --id "$appId" --identifier-uris "api://$appId"
//   az ad sp create --id "$appId"
//   azd env set DBOPS_AUTH_CLIENT_ID "$appId"
// then put the approvers' Entra object ids (az ad user show --id dba@phonebill.com --query id -o tsv)
// in DBOPS_PRODUCTION_APPROVERS: azd env set DBOPS_PRODUCTION_APPROVERS '<oid>,<oid>'.
// Empty client id: no App Service authentication, and those runs are refused over HTTP (403).
param functionAuthClientId = readEnvironmentVariable('DBOPS_AUTH_CLIENT_ID', '')
param productionApprovers = filter(split(readEnvironmentVariable('DBOPS_PRODUCTION_APPROVERS', ''), ','), a => !empty(trim(a)))
param replicaExists = bool(readEnvironmentVariable('DBOPS_REPLICA_EXISTS', 'false'))
param serverExists = bool(readEnvironmentVariable('DBOPS_SERVER_EXISTS', 'false'))
param acsEndpoint = readEnvironmentVariable('DBOPS_ACS_ENDPOINT', '')
param acsEmailSender = readEnvironmentVariable('DBOPS_ACS_EMAIL_SENDER', '')
param acsSmsFrom = readEnvironmentVariable('DBOPS_ACS_SMS_FROM', '')
param alertEmailAddresses = [
  'dba-team@phonebill.com'
  'ops-team@phonebill.com'
]
param alertSmsReceivers = [
  {
    countryCode: '82'
    phoneNumber: '1012345678'
  }
]
param alertLanguage = 'ko'

param budgetAmount = 1600
param budgetActualThresholds = [
  80
  100
]
param budgetForecastThresholds = [
  100
]
