metadata description = 'Event Grid system topics and subscriptions that feed dbops: resource-group resource actions on the flexible servers (failoverEvents) and Key Vault SecretNearExpiry and SecretExpired (keyVaultEvents), with dead-lettering to blob storage.'

@description('Azure region of the Key Vault (its system topic lives there).')
param vaultLocation string

@description('Name of the Key Vault whose secrets dbops rotates.')
param vaultName string

@description('Resource ids of the flexible servers whose actions are forwarded (primary, and the replica when present).')
param serverIds array

@description('Operation names forwarded to failoverEvents: restart (with or without failover) and write (replica promote or switchover, and other updates of the servers).')
param serverOperationNames array

@description('Names of the Key Vault secrets dbops manages; SecretNearExpiry for other secrets is not forwarded. Empty forwards all.')
param managedSecretNames array

@description('Create the subscriptions (the functions must already be deployed; azd sets this on the second provision).')
param wireFunctionEndpoints bool

@description('Name of the dbops Function App (in this resource group).')
param functionAppName string

@description('Name of the storage account that holds the dead-letter container.')
param storageAccountName string

@description('Blob container for undeliverable events.')
param deadLetterContainerName string

@description('Tags applied to every resource.')
param tags object

var storageBlobDataContributorRoleId = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

var retryPolicy = {
  maxDeliveryAttempts: 30
  eventTimeToLiveInMinutes: 1440
}

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' existing = {
  name: vaultName
}

resource resourceGroupTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: 'evgt-${resourceGroup().name}'
  location: 'global'
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: resourceGroup().id
    topicType: 'Microsoft.Resources.ResourceGroups'
  }
}

resource vaultTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: 'evgt-${vaultName}'
  location: vaultLocation
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: vault.id
    topicType: 'Microsoft.KeyVault.vaults'
  }
}

resource resourceGroupTopicDeadLetter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, resourceGroupTopic.id, storageBlobDataContributorRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributorRoleId)
    principalId: resourceGroupTopic.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource vaultTopicDeadLetter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, vaultTopic.id, storageBlobDataContributorRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributorRoleId)
    principalId: vaultTopic.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource failoverEvents 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = if (wireFunctionEndpoints) {
  parent: resourceGroupTopic
  name: 'dbops-failover-events'
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: resourceId('Microsoft.Web/sites/functions', functionAppName, 'failoverEvents')
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Resources.ResourceActionSuccess'
        'Microsoft.Resources.ResourceWriteSuccess'
      ]
      advancedFilters: [
        {
          operatorType: 'StringIn'
          key: 'data.operationName'
          values: serverOperationNames
        }
        {
          operatorType: 'StringBeginsWith'
          key: 'subject'
          values: serverIds
        }
      ]
    }
    retryPolicy: retryPolicy
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: storage.id
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
  dependsOn: [
    resourceGroupTopicDeadLetter
  ]
}

resource keyVaultEvents 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = if (wireFunctionEndpoints) {
  parent: vaultTopic
  name: 'dbops-keyvault-events'
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: resourceId('Microsoft.Web/sites/functions', functionAppName, 'keyVaultEvents')
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.KeyVault.SecretNearExpiry'
        // A second trigger for a secret whose near-expiry event was lost (the code routes both).
        'Microsoft.KeyVault.SecretExpired'
      ]
      advancedFilters: empty(managedSecretNames) ? [] : [
        {
          operatorType: 'StringIn'
          key: 'subject'
          values: managedSecretNames
        }
      ]
    }
    retryPolicy: retryPolicy
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: storage.id
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
  dependsOn: [
    vaultTopicDeadLetter
  ]
}
