metadata description = 'A Microsoft Entra administrator of a PostgreSQL flexible server. A module of its own because the administrator\'s resource name is its object id, which main.bicep only knows from another module\'s output (a resource name must be known when its deployment starts, BCP120; a module parameter is).'

@description('Name of the existing flexible server (the primary; replicas take their administrators from it).')
param serverName string

@description('Object id of the principal; it is the administrator resource\'s name.')
param principalId string

@description('Principal name, i.e. the role name the principal signs in to PostgreSQL with.')
param principalName string

@description('Kind of principal.')
@allowed([
  'ServicePrincipal'
  'User'
  'Group'
])
param principalType string = 'ServicePrincipal'

resource server 'Microsoft.DBforPostgreSQL/flexibleServers@2025-08-01' existing = {
  name: serverName
}

resource administrator 'Microsoft.DBforPostgreSQL/flexibleServers/administrators@2025-08-01' = {
  parent: server
  name: principalId
  properties: {
    principalType: principalType
    principalName: principalName
    tenantId: subscription().tenantId
  }
}
