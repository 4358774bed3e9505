metadata description = 'The dbops Function App: Flex Consumption plan, Node 22, system-assigned identity, VNet integration, Application Insights, identity-based storage, and the app settings dbops reads.'

@description('Azure region of the Function App. Passed from main.bicep.')
param location string

@description('Function App name; it is also the Microsoft Entra principal name dbops uses to sign in to PostgreSQL (DBOPS_PG_USER).')
@minLength(2)
@maxLength(60)
param functionAppName string

@description('Flex Consumption plan name.')
@minLength(1)
@maxLength(60)
param planName string

@description('Storage account for the Functions host and the deployment package (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param storageAccountName string

@description('Name of the Application Insights component (created by the monitoring module).')
param appInsightsName string

@description('Resource id of the delegated function subnet for VNet integration.')
param functionSubnetId string

@description('Node.js major version of the Functions runtime.')
@allowed([
  '20'
  '22'
])
param nodeVersion string

@description('Memory per instance in MB (Flex Consumption).')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

@description('Upper bound of Flex Consumption instances.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

@description('App settings dbops reads (DBOPS_*), name -> value. Values are non-secret or Key Vault references.')
param dbopsSettings object

@description('Public IP ranges (CIDR) besides the Action Group and Event Grid service tags that may call the Function App, e.g. an operator network for the manual HTTP trigger.')
param allowedInboundIpRanges array

@description('Public CIDR ranges allowed to the scm (deployment) endpoint besides the main rules: azd deploy publishes the package from the deployer\'s machine to scm /api/publish.')
param deployerIpRanges array

@description('Object id of the principal that runs azd deploy; it gets Storage Blob Data Contributor on the package container\'s account. Empty to skip.')
param deployerPrincipalId string

@description('Client (application) id of the Microsoft Entra app registration that App Service authentication validates bearer tokens for (audience api://<client id>). Empty: no authentication config, and runs that act on production are refused over HTTP.')
param authClientId string

@description('Tags applied to every resource.')
param tags object

// A container name has at most 63 characters; the app's name may have 60.
var scmRules = [
  for (range, i) in deployerIpRanges: {
    name: 'allow-deployer-${i}'
    action: 'Allow'
    tag: 'Default'
    ipAddress: range
    priority: 100 + i
  }
]

var packageContainerName = take('app-package-${toLower(functionAppName)}', 63)
var deadLetterContainerName = 'eventgrid-deadletter'
var storageBlobDataOwnerRoleId = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageBlobDataContributorRoleId = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var storageQueueDataContributorRoleId = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var storageTableDataContributorRoleId = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'

var serviceTagRules = [
  {
    name: 'allow-action-groups'
    action: 'Allow'
    tag: 'ServiceTag'
    ipAddress: 'ActionGroup'
    priority: 100
  }
  {
    name: 'allow-event-grid'
    action: 'Allow'
    tag: 'ServiceTag'
    ipAddress: 'AzureEventGrid'
    priority: 110
  }
]

var ipRules = [
  for (range, i) in allowedInboundIpRanges: {
    name: 'allow-operator-${i}'
    action: 'Allow'
    tag: 'Default'
    ipAddress: range
    priority: 200 + i
  }
]

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_ZRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-01-01' = {
  parent: storage
  name: 'default'
}

resource packageContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = {
  parent: blobService
  name: packageContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = {
  parent: blobService
  name: deadLetterContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2025-03-01' = {
  name: functionAppName
  location: location
  tags: union(tags, {
    'azd-service-name': 'dbops'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    virtualNetworkSubnetId: functionSubnetId
    keyVaultReferenceIdentity: 'SystemAssigned'
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${packageContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: nodeVersion
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      http20Enabled: true
      ipSecurityRestrictionsDefaultAction: 'Deny'
      ipSecurityRestrictions: concat(serviceTagRules, ipRules)
      // The scm site has rules of its own: the deployer's ranges, nothing else.
      scmIpSecurityRestrictionsUseMain: false
      scmIpSecurityRestrictionsDefaultAction: 'Deny'
      scmIpSecurityRestrictions: scmRules
      // The platform's settings are literal entries, because the connection string is known only at
      // run time and a for-expression must be known at the start (BCP178); the loop runs over the
      // dbops settings, a parameter.
      appSettings: concat(
        [
          {
            name: 'AzureWebJobsStorage__accountName'
            value: storage.name
          }
          {
            name: 'AzureWebJobsStorage__credential'
            value: 'managedidentity'
          }
          {
            name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
            value: appInsights.properties.ConnectionString
          }
          {
            name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
            value: 'Authorization=AAD'
          }
        ],
        map(items(dbopsSettings), setting => {
          name: setting.key
          value: string(setting.value)
        })
      )
    }
  }
  dependsOn: [
    packageContainer
  ]
}

// App Service authentication with the Microsoft Entra provider, so a caller who sends an Entra
// bearer token arrives with x-ms-client-principal (src/functions/production-approval.ts). Anonymous
// requests still pass: function keys gate the endpoints, and timers and Event Grid need no token.
// The client id is implicitly an allowed audience too (v2 tokens carry it as aud).
resource authSettings 'Microsoft.Web/sites/config@2025-03-01' = if (!empty(authClientId)) {
  parent: functionApp
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: false
      unauthenticatedClientAction: 'AllowAnonymous'
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: authClientId
          // loginEndpoint is https://login.microsoftonline.com/ in the public cloud, with the slash.
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            'api://${authClientId}'
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}

resource functionStorageBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionAppName, storageBlobDataOwnerRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwnerRoleId)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource functionStorageQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionAppName, storageQueueDataContributorRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataContributorRoleId)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource functionStorageTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionAppName, storageTableDataContributorRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributorRoleId)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource functionTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, functionAppName, monitoringMetricsPublisherRoleId)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisherRoleId)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource deployerStorageBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(storage.id, deployerPrincipalId, storageBlobDataContributorRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributorRoleId)
    principalId: deployerPrincipalId
  }
}

@description('Resource id of the Function App.')
output functionAppId string = functionApp.id

@description('Name of the Function App (its Entra principal name).')
output functionAppName string = functionApp.name

@description('Object id of the Function App\'s system-assigned identity.')
output principalId string = functionApp.identity.principalId

@description('Default host name of the Function App.')
output defaultHostName string = functionApp.properties.defaultHostName

@description('Resource id of the storage account (Event Grid dead-letter destination).')
output storageAccountId string = storage.id

@description('Whether App Service authentication (Microsoft Entra) is configured; without it runs that act on production stay refused over HTTP.')
output productionApprovalOverHttp string = empty(authClientId) ? 'refused: no app registration (authClientId empty), so no caller can be a signed-in approver' : 'Microsoft Entra tokens for api://${authClientId}, approvers from DBOPS_PRODUCTION_APPROVERS'

@description('Blob container for Event Grid dead letters.')
output deadLetterContainerName string = deadLetterContainer.name
