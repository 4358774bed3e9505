metadata description = 'Network for the Product-Change database (plan 2.3, 7.1.1): primary VNet with delegated database subnet, function subnet, private endpoints, the replica region VNet, peering and the private DNS zones.'

@description('Azure region of the primary network (plan 2.2.1: Korea Central). Passed from main.bicep.')
param location string

@description('Azure region of the read replica network (plan 2.2.3: Korea South). Ignored when deployReplicaNetwork is false.')
param replicaLocation string

@description('Deploy the replica region VNet, its delegated subnet and the peering (needed for a private-access read replica in another region).')
param deployReplicaNetwork bool

@description('Name of the primary virtual network (plan 7.1.1).')
@minLength(2)
@maxLength(64)
param vnetName string

@description('Address space of the primary virtual network (plan 7.1.1: 10.0.0.0/16).')
param vnetAddressPrefix string

@description('AKS application subnet prefix (plan 4.3.2 allowed_subnets: 10.0.1.0/24).')
param aksSubnetPrefix string

@description('Database subnet prefix, delegated to Microsoft.DBforPostgreSQL/flexibleServers (plan 2.3.1 / 7.1.1: 10.0.2.0/24).')
param databaseSubnetPrefix string

@description('Subnet for the dbops Function App VNet integration, delegated to Microsoft.App/environments (Flex Consumption).')
param functionSubnetPrefix string

@description('Management subnet prefix (plan 4.3.2 allowed_subnets: 10.0.4.0/24).')
param managementSubnetPrefix string

@description('Subnet for private endpoints (Key Vault).')
param privateEndpointSubnetPrefix string

@description('Name of the replica region virtual network.')
@minLength(2)
@maxLength(64)
param replicaVnetName string

@description('Address space of the replica region virtual network; must not overlap vnetAddressPrefix.')
param replicaVnetAddressPrefix string

@description('Replica database subnet prefix, delegated to Microsoft.DBforPostgreSQL/flexibleServers.')
param replicaDatabaseSubnetPrefix string

@description('Private DNS zone for the flexible servers (plan 7.1.2 --private-dns-zone). Must end in .postgres.database.azure.com.')
param postgresPrivateDnsZoneName string

@description('Tags applied to every resource.')
param tags object

var postgresPort = '5432'
var allowedClientPrefixes = [
  aksSubnetPrefix
  managementSubnetPrefix
  functionSubnetPrefix
]

// Flexible servers with private access do not take firewall rules; the plan's
// "VNet rules only, AKS subnet only" (2.3.1, 7.3.1) becomes this NSG.
resource databaseNsg 'Microsoft.Network/networkSecurityGroups@2026-03-01' = {
  name: 'nsg-${vnetName}-database'
  location: location
  tags: tags
  properties: {
    securityRules: [
      {
        name: 'allow-postgres-from-app-subnets'
        properties: {
          priority: 100
          direction: 'Inbound'
          access: 'Allow'
          protocol: 'Tcp'
          sourceAddressPrefixes: allowedClientPrefixes
          sourcePortRange: '*'
          destinationAddressPrefix: databaseSubnetPrefix
          destinationPortRange: postgresPort
        }
      }
      {
        name: 'allow-postgres-within-database-subnets'
        properties: {
          priority: 110
          direction: 'Inbound'
          access: 'Allow'
          protocol: 'Tcp'
          sourceAddressPrefixes: deployReplicaNetwork ? [
            databaseSubnetPrefix
            replicaDatabaseSubnetPrefix
          ] : [
            databaseSubnetPrefix
          ]
          sourcePortRange: '*'
          destinationAddressPrefix: databaseSubnetPrefix
          destinationPortRange: postgresPort
        }
      }
      {
        name: 'deny-postgres-from-rest-of-vnet'
        properties: {
          priority: 4000
          direction: 'Inbound'
          access: 'Deny'
          protocol: 'Tcp'
          sourceAddressPrefix: 'VirtualNetwork'
          sourcePortRange: '*'
          destinationAddressPrefix: databaseSubnetPrefix
          destinationPortRange: postgresPort
        }
      }
    ]
  }
}

resource defaultNsg 'Microsoft.Network/networkSecurityGroups@2026-03-01' = {
  name: 'nsg-${vnetName}-default'
  location: location
  tags: tags
  properties: {
    securityRules: []
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2026-03-01' = {
  name: vnetName
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        vnetAddressPrefix
      ]
    }
    subnets: [
      {
        name: 'subnet-aks'
        properties: {
          addressPrefix: aksSubnetPrefix
          networkSecurityGroup: {
            id: defaultNsg.id
          }
        }
      }
      {
        name: 'subnet-database'
        properties: {
          addressPrefix: databaseSubnetPrefix
          networkSecurityGroup: {
            id: databaseNsg.id
          }
          delegations: [
            {
              name: 'postgres-flexible'
              properties: {
                serviceName: 'Microsoft.DBforPostgreSQL/flexibleServers'
              }
            }
          ]
        }
      }
      {
        name: 'subnet-functions'
        properties: {
          addressPrefix: functionSubnetPrefix
          networkSecurityGroup: {
            id: defaultNsg.id
          }
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: 'subnet-management'
        properties: {
          addressPrefix: managementSubnetPrefix
          networkSecurityGroup: {
            id: defaultNsg.id
          }
        }
      }
      {
        name: 'subnet-private-endpoints'
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          privateEndpointNetworkPolicies: 'Enabled'
          networkSecurityGroup: {
            id: defaultNsg.id
          }
        }
      }
    ]
  }
}

resource replicaNsg 'Microsoft.Network/networkSecurityGroups@2026-03-01' = if (deployReplicaNetwork) {
  name: 'nsg-${replicaVnetName}-database'
  location: replicaLocation
  tags: tags
  properties: {
    securityRules: [
      {
        name: 'allow-postgres-from-primary-vnet-clients'
        properties: {
          priority: 100
          direction: 'Inbound'
          access: 'Allow'
          protocol: 'Tcp'
          sourceAddressPrefixes: concat(allowedClientPrefixes, [
            databaseSubnetPrefix
            replicaDatabaseSubnetPrefix
          ])
          sourcePortRange: '*'
          destinationAddressPrefix: replicaDatabaseSubnetPrefix
          destinationPortRange: postgresPort
        }
      }
      {
        name: 'deny-postgres-from-rest-of-vnet'
        properties: {
          priority: 4000
          direction: 'Inbound'
          access: 'Deny'
          protocol: 'Tcp'
          sourceAddressPrefix: 'VirtualNetwork'
          sourcePortRange: '*'
          destinationAddressPrefix: replicaDatabaseSubnetPrefix
          destinationPortRange: postgresPort
        }
      }
    ]
  }
}

resource replicaVnet 'Microsoft.Network/virtualNetworks@2026-03-01' = if (deployReplicaNetwork) {
  name: replicaVnetName
  location: replicaLocation
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        replicaVnetAddressPrefix
      ]
    }
    subnets: [
      {
        name: 'subnet-database'
        properties: {
          addressPrefix: replicaDatabaseSubnetPrefix
          networkSecurityGroup: {
            id: replicaNsg.id
          }
          delegations: [
            {
              name: 'postgres-flexible'
              properties: {
                serviceName: 'Microsoft.DBforPostgreSQL/flexibleServers'
              }
            }
          ]
        }
      }
    ]
  }
}

resource primaryToReplica 'Microsoft.Network/virtualNetworks/virtualNetworkPeerings@2026-03-01' = if (deployReplicaNetwork) {
  parent: vnet
  name: 'peer-to-${replicaVnetName}'
  properties: {
    remoteVirtualNetwork: {
      id: replicaVnet.id
    }
    allowVirtualNetworkAccess: true
    allowForwardedTraffic: false
    allowGatewayTransit: false
    useRemoteGateways: false
  }
}

resource replicaToPrimary 'Microsoft.Network/virtualNetworks/virtualNetworkPeerings@2026-03-01' = if (deployReplicaNetwork) {
  parent: replicaVnet
  name: 'peer-to-${vnetName}'
  properties: {
    remoteVirtualNetwork: {
      id: vnet.id
    }
    allowVirtualNetworkAccess: true
    allowForwardedTraffic: false
    allowGatewayTransit: false
    useRemoteGateways: false
  }
}

resource postgresDnsZone 'Microsoft.Network/privateDnsZones@2024-06-01' = {
  name: postgresPrivateDnsZoneName
  location: 'global'
  tags: tags
}

resource postgresDnsLink 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = {
  parent: postgresDnsZone
  name: 'link-${vnetName}'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: vnet.id
    }
  }
}

resource postgresDnsReplicaLink 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = if (deployReplicaNetwork) {
  parent: postgresDnsZone
  name: 'link-${replicaVnetName}'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: replicaVnet.id
    }
  }
}

resource vaultDnsZone 'Microsoft.Network/privateDnsZones@2024-06-01' = {
  #disable-next-line no-hardcoded-env-urls
  name: 'privatelink.vaultcore.azure.net'
  location: 'global'
  tags: tags
}

resource vaultDnsLink 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = {
  parent: vaultDnsZone
  name: 'link-${vnetName}'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: vnet.id
    }
  }
}

@description('Resource id of the primary VNet.')
output vnetId string = vnet.id

@description('Resource id of the delegated database subnet.')
output databaseSubnetId string = resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, 'subnet-database')

@description('Resource id of the delegated replica database subnet (empty without a replica network).')
output replicaDatabaseSubnetId string = deployReplicaNetwork ? resourceId('Microsoft.Network/virtualNetworks/subnets', replicaVnetName, 'subnet-database') : ''

@description('Resource id of the Function App integration subnet.')
output functionSubnetId string = resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, 'subnet-functions')

@description('Resource id of the private endpoint subnet.')
output privateEndpointSubnetId string = resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, 'subnet-private-endpoints')

@description('Resource id of the PostgreSQL private DNS zone.')
output postgresPrivateDnsZoneId string = postgresDnsZone.id

@description('Resource id of the Key Vault private DNS zone.')
output vaultPrivateDnsZoneId string = vaultDnsZone.id
