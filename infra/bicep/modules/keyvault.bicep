metadata description = 'Key Vault (RBAC, soft delete, purge protection, private endpoint) holding the dbops secrets and the PostgreSQL customer-managed keys (plan 4.2.1), the geo-backup key vault in the paired region, and the user-assigned identities the server uses to reach the keys.'

@description('Azure region of the primary vault. Passed from main.bicep.')
param location string

@description('Azure region of the geo-backup key (the geo-redundant backup region, plan 5.1.2: Korea South).')
param geoLocation string

@description('Name of the primary Key Vault (3-24 characters, globally unique).')
@minLength(3)
@maxLength(24)
param vaultName string

@description('Name of the Key Vault in the geo-backup region (3-24 characters, globally unique).')
@minLength(3)
@maxLength(24)
param geoVaultName string

@description('Create the customer-managed keys and identities (plan 4.2.1). Off for cheap dev environments.')
param useCustomerManagedKey bool

@description('Also create the geo-backup key, vault and identity; required when geo-redundant backup is on with a customer-managed key.')
param deployGeoBackupKey bool

@description('Name prefix for the user-assigned identities of the server.')
@minLength(3)
@maxLength(100)
param identityNamePrefix string

@description('RSA key size of the data encryption keys (PostgreSQL flexible server accepts 2048, 3072, 4096).')
@allowed([
  2048
  3072
  4096
])
param keySize int

@description('Rotation period of the data encryption keys as an ISO 8601 duration (plan 4.2.1: yearly).')
param keyRotationPeriod string

@description('Resource id of the subnet that hosts the vault private endpoint.')
param privateEndpointSubnetId string

@description('Resource id of the privatelink.vaultcore.azure.net private DNS zone.')
param vaultPrivateDnsZoneId string

@description('Microsoft Teams incoming webhook URL for dbops notifications; stored as a Key Vault secret. Empty to skip.')
@secure()
param teamsWebhookUrl string

@description('Store teamsWebhookUrl in the vault (main.bicep sets this to !empty(teamsWebhookUrl), so no output has to look at the secure value).')
param storeTeamsWebhook bool

@description('Name of the Key Vault secret that holds the Teams webhook URL.')
param teamsWebhookSecretName string

@description('Days a deleted vault or secret stays recoverable.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int

@description('Tags applied to every resource.')
param tags object

// Key Vault Crypto Service Encryption User: wrap/unwrap with a key, nothing else.
var cryptoServiceEncryptionUserRoleId = 'e147488a-f6f5-4113-8e2d-b22465e65bf6'

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' = {
  name: vaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    publicNetworkAccess: 'Disabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Deny'
    }
  }
}

resource vaultPrivateEndpoint 'Microsoft.Network/privateEndpoints@2026-03-01' = {
  name: 'pe-${vaultName}'
  location: location
  tags: tags
  properties: {
    subnet: {
      id: privateEndpointSubnetId
    }
    privateLinkServiceConnections: [
      {
        name: 'vault'
        properties: {
          privateLinkServiceId: vault.id
          groupIds: [
            'vault'
          ]
        }
      }
    ]
  }
}

resource vaultPrivateDnsGroup 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2026-03-01' = {
  parent: vaultPrivateEndpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: 'vaultcore'
        properties: {
          privateDnsZoneId: vaultPrivateDnsZoneId
        }
      }
    ]
  }
}

resource teamsWebhookSecret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (storeTeamsWebhook) {
  parent: vault
  name: teamsWebhookSecretName
  properties: {
    value: teamsWebhookUrl
    contentType: 'text/uri-list'
  }
}

resource serverIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = if (useCustomerManagedKey) {
  name: '${identityNamePrefix}-cmk'
  location: location
  tags: tags
}

resource dataKey 'Microsoft.KeyVault/vaults/keys@2025-05-01' = if (useCustomerManagedKey) {
  parent: vault
  name: 'postgres-data-encryption'
  properties: {
    kty: 'RSA'
    keySize: keySize
    keyOps: [
      'wrapKey'
      'unwrapKey'
    ]
    rotationPolicy: {
      lifetimeActions: [
        {
          trigger: {
            timeAfterCreate: keyRotationPeriod
          }
          action: {
            type: 'rotate'
          }
        }
      ]
    }
  }
}

resource dataKeyAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (useCustomerManagedKey) {
  name: guid(vault.id, 'postgres-data-encryption', cryptoServiceEncryptionUserRoleId)
  scope: dataKey
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', cryptoServiceEncryptionUserRoleId)
    principalId: serverIdentity!.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource geoVault 'Microsoft.KeyVault/vaults@2025-05-01' = if (useCustomerManagedKey && deployGeoBackupKey) {
  name: geoVaultName
  location: geoLocation
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    publicNetworkAccess: 'Disabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Deny'
    }
  }
}

resource geoIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = if (useCustomerManagedKey && deployGeoBackupKey) {
  name: '${identityNamePrefix}-cmk-geo'
  location: geoLocation
  tags: tags
}

resource geoKey 'Microsoft.KeyVault/vaults/keys@2025-05-01' = if (useCustomerManagedKey && deployGeoBackupKey) {
  parent: geoVault
  name: 'postgres-geo-backup-encryption'
  properties: {
    kty: 'RSA'
    keySize: keySize
    keyOps: [
      'wrapKey'
      'unwrapKey'
    ]
    rotationPolicy: {
      lifetimeActions: [
        {
          trigger: {
            timeAfterCreate: keyRotationPeriod
          }
          action: {
            type: 'rotate'
          }
        }
      ]
    }
  }
}

resource geoKeyAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (useCustomerManagedKey && deployGeoBackupKey) {
  name: guid(geoVaultName, 'postgres-geo-backup-encryption', cryptoServiceEncryptionUserRoleId)
  scope: geoKey
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', cryptoServiceEncryptionUserRoleId)
    principalId: geoIdentity!.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

@description('Name of the primary vault.')
output vaultName string = vault.name

@description('Resource id of the primary vault.')
output vaultId string = vault.id

@description('Vault URI (DBOPS_KEYVAULT_URL).')
output vaultUri string = vault.properties.vaultUri

@description('Versionless URI of the data encryption key (versionless so the server follows rotations).')
output dataKeyUri string = useCustomerManagedKey ? dataKey!.properties.keyUri : ''

@description('Resource id of the identity the server uses for the data encryption key.')
output serverIdentityId string = useCustomerManagedKey ? serverIdentity!.id : ''

@description('Versionless URI of the geo-backup key.')
output geoKeyUri string = (useCustomerManagedKey && deployGeoBackupKey) ? geoKey!.properties.keyUri : ''

@description('Resource id of the identity the server uses for the geo-backup key.')
output geoIdentityId string = (useCustomerManagedKey && deployGeoBackupKey) ? geoIdentity!.id : ''

@description('Versionless URI of the Teams webhook secret, for a Key Vault reference (the URI, never the value).')
output teamsWebhookSecretUri string = !storeTeamsWebhook ? '' : '${vault.properties.vaultUri}secrets/${teamsWebhookSecretName}'
