metadata description = 'Azure Database for PostgreSQL flexible server (plan 2.2, 3.1, 4, 5), its product_change_db database, server parameters, the Korea South read replica, diagnostic settings and a delete lock.'

@description('Azure region of the primary server (plan 2.2.1: Korea Central). Passed from main.bicep.')
param location string

@description('Azure region of the read replica (plan 2.2.3: Korea South).')
param replicaLocation string

@description('Primary server name (plan 7.1.2: phonebill-postgresql-prod).')
@minLength(3)
@maxLength(63)
param serverName string

@description('Read replica name (plan 7.1.3: phonebill-postgresql-replica).')
@minLength(3)
@maxLength(63)
param replicaName string

@description('Deploy the read replica (plan 2.2.3).')
param deployReplica bool

@description('The replica exists already: createMode Replica (and its source) are sent only on creation.')
param replicaExists bool

@description('The primary exists already: createMode Create is sent only on creation; a later provision is an update.')
param serverExists bool

@description('PostgreSQL major version (plan 2.2.1: 14; Azure offers 14 to 18). Changing it on an existing server is a major-version upgrade: use dbops version-upgrade, not a deployment.')
@allowed([
  '14'
  '15'
  '16'
  '17'
  '18'
])
param postgresVersion string

@description('Compute SKU of the primary (plan 2.2.1: Standard_D4s_v3).')
param skuName string

@description('Pricing tier of the primary (plan 2.2.1: GeneralPurpose).')
@allowed([
  'Burstable'
  'GeneralPurpose'
  'MemoryOptimized'
])
param skuTier string

@description('Compute SKU of the read replica (plan 2.2.3: Standard_D2s_v3).')
param replicaSkuName string

@description('Pricing tier of the read replica.')
@allowed([
  'Burstable'
  'GeneralPurpose'
  'MemoryOptimized'
])
param replicaSkuTier string

@description('Provisioned storage in GiB (plan 3.1.1: 256).')
@allowed([
  32
  64
  128
  256
  512
  1024
  2048
  4096
  8192
  16384
  32767
])
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

@description('Availability zone of the primary (plan 2.2.2: zone 1).')
@allowed([
  '1'
  '2'
  '3'
])
param availabilityZone string

@description('Availability zone of the HA standby (plan 2.2.2: zone 2).')
@allowed([
  '1'
  '2'
  '3'
])
param standbyAvailabilityZone string

@description('Backup retention in days (plan 5.1.1: 35, the maximum).')
@minValue(7)
@maxValue(35)
param backupRetentionDays int

@description('Geo-redundant backup (plan 5.1.2 geo_backup: enabled, Korea South is the paired region).')
@allowed([
  'Enabled'
  'Disabled'
])
param geoRedundantBackup string

@description('Resource id of the delegated subnet of the primary (plan 7.1.1 subnet-database).')
param delegatedSubnetId string

@description('Resource id of the delegated subnet in the replica region.')
param replicaDelegatedSubnetId string

@description('Resource id of the private DNS zone shared by primary and replica.')
param privateDnsZoneId string

@description('Password authentication. Disabled: Microsoft Entra only (AVM/PSRule baseline); the plan\'s dbadmin password is not used.')
@allowed([
  'Enabled'
  'Disabled'
])
// An on/off switch for password sign-in, not a secret: the name only looks like one.
#disable-next-line secure-secrets-in-params
param passwordAuth string

@description('Administrator login, used only when passwordAuth is Enabled.')
param administratorLogin string

@description('Administrator password, used only when passwordAuth is Enabled. Never put it in a parameter file.')
@secure()
param administratorLoginPassword string

@description('Name of the application database (plan 1.1: product_change_db).')
param databaseName string

@description('Server parameters for the primary: name -> value (plan 3.1.2, 4.3.1, 7.2.2, 7.3.1).')
param serverParameters object

@description('Server parameters for the replica (security and logging ones; memory settings stay at the replica SKU defaults).')
param replicaServerParameters object

@description('Encrypt data with the customer-managed key (plan 4.2.1).')
param useCustomerManagedKey bool

@description('Versionless key URI of the data encryption key.')
param dataKeyUri string

@description('Resource id of the user-assigned identity that reads the data encryption key.')
param serverIdentityId string

@description('Versionless key URI of the geo-backup key (required with geo-redundant backup and a customer-managed key).')
param geoKeyUri string

@description('Resource id of the user-assigned identity that reads the geo-backup key.')
param geoIdentityId string

@description('Custom maintenance window (day 0 = Sunday, hours in UTC).')
param maintenanceWindow object

@description('Resource id of the Log Analytics workspace for the diagnostic settings (plan 7.4.1).')
param workspaceId string

@description('Put a CanNotDelete lock on the primary server.')
param lockPrimaryServer bool

@description('Tags applied to every resource.')
param tags object

var primaryIdentities = union(
  empty(serverIdentityId) ? {} : {
    '${serverIdentityId}': {}
  },
  empty(geoIdentityId) ? {} : {
    '${geoIdentityId}': {}
  }
)

var primaryEncryption = useCustomerManagedKey ? {
  type: 'AzureKeyVault'
  primaryKeyURI: dataKeyUri
  primaryUserAssignedIdentityId: serverIdentityId
  geoBackupKeyURI: geoRedundantBackup == 'Enabled' ? geoKeyUri : null
  geoBackupUserAssignedIdentityId: geoRedundantBackup == 'Enabled' ? geoIdentityId : null
} : {
  type: 'SystemManaged'
}

resource server 'Microsoft.DBforPostgreSQL/flexibleServers@2025-08-01' = {
  name: serverName
  location: location
  tags: tags
  sku: {
    name: skuName
    tier: skuTier
  }
  identity: useCustomerManagedKey ? {
    type: 'UserAssigned'
    userAssignedIdentities: primaryIdentities
  } : {
    type: 'None'
  }
  properties: {
    version: postgresVersion
    administratorLogin: passwordAuth == 'Enabled' ? administratorLogin : null
    administratorLoginPassword: passwordAuth == 'Enabled' ? administratorLoginPassword : null
    authConfig: {
      activeDirectoryAuth: 'Enabled'
      passwordAuth: passwordAuth
      tenantId: subscription().tenantId
    }
    availabilityZone: availabilityZone
    highAvailability: {
      mode: highAvailabilityMode
      standbyAvailabilityZone: highAvailabilityMode == 'ZoneRedundant' ? standbyAvailabilityZone : null
    }
    storage: {
      storageSizeGB: storageSizeGB
      autoGrow: storageAutoGrow
      type: 'Premium_LRS'
    }
    backup: {
      backupRetentionDays: backupRetentionDays
      geoRedundantBackup: geoRedundantBackup
    }
    network: {
      delegatedSubnetResourceId: delegatedSubnetId
      privateDnsZoneArmResourceId: privateDnsZoneId
      publicNetworkAccess: 'Disabled'
    }
    dataEncryption: primaryEncryption
    maintenanceWindow: maintenanceWindow
    createMode: serverExists ? null : 'Create'
  }
}

resource database 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2025-08-01' = {
  parent: server
  name: databaseName
  properties: {
    charset: 'UTF8'
    collation: 'en_US.utf8'
  }
}

// The service refuses concurrent configuration updates on one server: one at a time.
@batchSize(1)
resource configurations 'Microsoft.DBforPostgreSQL/flexibleServers/configurations@2025-08-01' = [
  for setting in items(serverParameters): {
    parent: server
    name: setting.key
    properties: {
      value: string(setting.value)
      source: 'user-override'
    }
    dependsOn: [
      database
    ]
  }
]

// 2021-05-01-preview is the newest version of the resource-scoped diagnostic settings type; the GA
// 2016-09-01 the linter offers is another type (a service's own settings, named 'service', with
// no category on metrics).
#disable-next-line use-recent-api-versions
resource primaryDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'diagnostic-postgresql'
  scope: server
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'PostgreSQLLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

resource primaryLock 'Microsoft.Authorization/locks@2020-05-01' = if (lockPrimaryServer) {
  name: 'lock-${serverName}-cannot-delete'
  scope: server
  properties: {
    level: 'CanNotDelete'
    notes: 'Production database of the Product-Change service. dbops deletes only its own temporary restore servers.'
  }
}

resource replica 'Microsoft.DBforPostgreSQL/flexibleServers@2025-08-01' = if (deployReplica) {
  name: replicaName
  location: replicaLocation
  tags: tags
  sku: {
    name: replicaSkuName
    tier: replicaSkuTier
  }
  identity: useCustomerManagedKey ? {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${geoIdentityId}': {}
    }
  } : {
    type: 'None'
  }
  properties: {
    // Replica is a creation mode: sent again to an existing replica it is refused, so a second
    // provision sends none (an update of the replica).
    createMode: replicaExists ? null : 'Replica'
    sourceServerResourceId: replicaExists ? null : server.id
    storage: {
      storageSizeGB: storageSizeGB
      autoGrow: storageAutoGrow
      type: 'Premium_LRS'
    }
    network: {
      delegatedSubnetResourceId: replicaDelegatedSubnetId
      privateDnsZoneArmResourceId: privateDnsZoneId
      publicNetworkAccess: 'Disabled'
    }
    dataEncryption: useCustomerManagedKey ? {
      type: 'AzureKeyVault'
      primaryKeyURI: geoKeyUri
      primaryUserAssignedIdentityId: geoIdentityId
    } : {
      type: 'SystemManaged'
    }
  }
  dependsOn: [
    configurations
  ]
}

@batchSize(1)
resource replicaConfigurations 'Microsoft.DBforPostgreSQL/flexibleServers/configurations@2025-08-01' = [
  for setting in items(replicaServerParameters): if (deployReplica) {
    parent: replica
    name: setting.key
    properties: {
      value: string(setting.value)
      source: 'user-override'
    }
  }
]

// The newest resource-scoped diagnostic settings version (see primaryDiagnostics).
#disable-next-line use-recent-api-versions
resource replicaDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (deployReplica) {
  name: 'diagnostic-postgresql'
  scope: replica
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'PostgreSQLLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

@description('Resource id of the primary server.')
output serverId string = server.id

@description('Name of the primary server.')
output serverName string = server.name

@description('Host name of the primary server (DBOPS_PG_HOST).')
output serverFqdn string = server.properties.?fullyQualifiedDomainName ?? ''

@description('Resource id of the read replica (empty without a replica).')
output replicaId string = deployReplica ? replica.id : ''

@description('Name of the read replica (empty without a replica).')
output replicaName string = deployReplica ? replica.name : ''

@description('Host name of the read replica (DBOPS_REPLICA_HOST; empty without a replica).')
output replicaFqdn string = deployReplica ? (replica.?properties.?fullyQualifiedDomainName ?? '') : ''

@description('Name of the application database.')
output databaseName string = database.name
