metadata description = 'Azure Monitor workbook with the plan\'s operational dashboard (plan 6.3.1): server state, connections, CPU/memory/IOPS, replica lag, slow queries and dbops job results.'

@description('Azure region of the workbook resource. Passed from main.bicep.')
param location string

@description('Display name of the workbook.')
param displayName string

@description('Resource id of the primary server.')
param serverId string

@description('Resource id of the read replica (empty: the replica tiles stay empty).')
param replicaId string

@description('Resource id of the Log Analytics workspace with PostgreSQLLogs.')
param workspaceId string

@description('Resource id of the Application Insights component of dbops.')
param appInsightsId string

@description('Tags applied to every resource.')
param tags object

var template = loadTextContent('../workbook/dbops-operations.workbook.json')
var withServer = replace(template, '__SERVER_ID__', serverId)
var withReplica = replace(withServer, '__REPLICA_ID__', empty(replicaId) ? serverId : replicaId)
var withWorkspace = replace(withReplica, '__WORKSPACE_ID__', workspaceId)
var serialized = replace(withWorkspace, '__APPINSIGHTS_ID__', appInsightsId)

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, 'dbops-operations-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    sourceId: workspaceId
    serializedData: serialized
    version: 'Notebook/1.0'
  }
}

@description('Resource id of the workbook.')
output workbookId string = workbook.id
