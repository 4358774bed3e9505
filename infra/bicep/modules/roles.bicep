metadata description = 'Least-privilege role assignments for the dbops Function App identity: Key Vault Secrets Officer on the vault, Cost Management Reader and Monitoring Reader on the resource group, and a custom role to create and delete temporary restore servers.'

@description('Object id of the Function App\'s system-assigned identity.')
param principalId string

@description('Name of the Key Vault whose secrets dbops rotates.')
param vaultName string

@description('Name of the Function App, used to name the custom role.')
param functionAppName string

// Built-in role definition ids (stable across tenants).
var keyVaultSecretsOfficerRoleId = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
var costManagementReaderRoleId = '72fafb9e-0641-4937-9268-a91bfd8191a3'
var monitoringReaderRoleId = '43d0d8ad-25c7-4714-9337-8ba259a9fe05'

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' existing = {
  name: vaultName
}

resource secretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, keyVaultSecretsOfficerRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficerRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'dbops password-rotation writes new secret versions.'
  }
}

resource costReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, principalId, costManagementReaderRoleId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', costManagementReaderRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'dbops cost-check reads month-to-date cost and forecast for this resource group.'
  }
}

resource monitoringReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, principalId, monitoringReaderRoleId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringReaderRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'dbops health-check and failover-check read metrics, logs and Resource Health.'
  }
}

resource restoreOperatorRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'dbops-restore-operator')
  properties: {
    roleName: 'dbops restore operator (${resourceGroup().name})'
    description: 'Create, verify and delete temporary point-in-time-restore servers for ${functionAppName}. The production server carries a CanNotDelete lock.'
    type: 'CustomRole'
    assignableScopes: [
      resourceGroup().id
    ]
    permissions: [
      {
        actions: [
          'Microsoft.DBforPostgreSQL/flexibleServers/read'
          'Microsoft.DBforPostgreSQL/flexibleServers/write'
          'Microsoft.DBforPostgreSQL/flexibleServers/delete'
          'Microsoft.DBforPostgreSQL/flexibleServers/databases/read'
          'Microsoft.DBforPostgreSQL/flexibleServers/configurations/read'
          'Microsoft.DBforPostgreSQL/flexibleServers/configurations/write'
          'Microsoft.DBforPostgreSQL/flexibleServers/administrators/read'
          'Microsoft.DBforPostgreSQL/flexibleServers/administrators/write'
          'Microsoft.DBforPostgreSQL/flexibleServers/backups/read'
          'Microsoft.DBforPostgreSQL/locations/operationResults/read'
          'Microsoft.DBforPostgreSQL/locations/azureAsyncOperation/read'
          'Microsoft.Network/virtualNetworks/subnets/join/action'
          'Microsoft.Network/privateDnsZones/read'
          'Microsoft.Network/privateDnsZones/join/action'
          'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

resource restoreOperator 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, principalId, 'dbops-restore-operator')
  properties: {
    roleDefinitionId: restoreOperatorRole.id
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'dbops backup-verification restores into a temporary server and deletes it.'
  }
}
