metadata description = 'Log Analytics workspace (plan 7.4.1) and the workspace-based Application Insights component used by the dbops Function App.'

@description('Azure region of the workspace. Passed from main.bicep.')
param location string

@description('Log Analytics workspace name (plan 7.4.1: law-phonebill-prod).')
@minLength(4)
@maxLength(63)
param workspaceName string

@description('Application Insights component name.')
@minLength(1)
@maxLength(260)
param appInsightsName string

@description('Days Log Analytics keeps data (PostgreSQLLogs with log_statement = all are large; 30 is the free retention).')
@minValue(30)
@maxValue(730)
param retentionInDays int

@description('Daily ingestion cap in GB; -1 for none. Plan 9.1.1 budgets about $60/month for monitoring.')
param dailyQuotaGb int

@description('Tags applied to every resource.')
param tags object

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-02-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    workspaceCapping: {
      dailyQuotaGb: dailyQuotaGb
    }
    features: {
      enableLogAccessUsingOnlyResourcePermissions: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'Node.JS'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
    IngestionMode: 'LogAnalytics'
  }
}

@description('Resource id of the Log Analytics workspace.')
output workspaceId string = workspace.id

@description('Workspace (customer) id that the Logs query API takes; dbops reads it as DBOPS_LOG_ANALYTICS_WORKSPACE_ID.')
output workspaceCustomerId string = workspace.properties.customerId

@description('Resource id of the Application Insights component.')
output appInsightsId string = appInsights.id

@description('Application Insights name.')
output appInsightsName string = appInsights.name
