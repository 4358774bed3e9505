metadata description = 'Action groups (email, SMS, the dbops function), metric alerts with the plan\'s thresholds (plan 6.1.1, 6.2.2, 7.4.2) and the Resource Health activity-log alert wired to the dbops alert endpoint.'

@description('Short environment name used in resource names.')
param environmentName string

@description('Resource id of the primary server.')
param primaryServerId string

@description('Resource id of the read replica; empty when there is none (replica rules are then skipped).')
param replicaServerId string

@description('Metric alert rules: name, description, metricName, operator, threshold, aggregation, windowSize, frequency, severity, target (primary|replica), actionGroup (critical|warning).')
param metricAlertRules array

@description('E-mail receivers (plan 6.2.1 Email: DBA, managers).')
param alertEmailAddresses array

@description('SMS receivers as { countryCode, phoneNumber } (plan 6.2.1 SMS: on-call).')
param alertSmsReceivers array

@description('Add the dbops Azure Function receiver (needs the function code deployed; azd sets this on the second provision).')
param wireFunctionEndpoints bool

@description('Resource id of the dbops Function App.')
param functionAppId string

@description('Name of the HTTP-triggered function that serves POST /api/alerts/resource-health.')
param alertFunctionName string

@description('Default host name of the dbops Function App.')
param functionHostName string

@description('Tags applied to every resource.')
param tags object

var functionReceivers = wireFunctionEndpoints ? [
  {
    name: 'dbops-alert-endpoint'
    functionAppResourceId: functionAppId
    functionName: alertFunctionName
    httpTriggerUrl: 'https://${functionHostName}/api/alerts/resource-health'
    useCommonAlertSchema: true
  }
] : []

var emailReceivers = [
  for (address, i) in alertEmailAddresses: {
    name: 'email-${i}'
    emailAddress: address
    useCommonAlertSchema: true
  }
]

var smsReceivers = [
  for (sms, i) in alertSmsReceivers: {
    name: 'sms-${i}'
    countryCode: sms.countryCode
    phoneNumber: sms.phoneNumber
  }
]

resource criticalGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-dbops-critical-${environmentName}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'dbops-crit'
    enabled: true
    emailReceivers: emailReceivers
    smsReceivers: smsReceivers
    azureFunctionReceivers: functionReceivers
  }
}

resource warningGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-dbops-warning-${environmentName}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'dbops-warn'
    enabled: true
    emailReceivers: emailReceivers
    azureFunctionReceivers: functionReceivers
  }
}

var activeRules = filter(metricAlertRules, rule => rule.target == 'primary' || !empty(replicaServerId))

resource metricAlerts 'Microsoft.Insights/metricAlerts@2026-01-01' = [
  for rule in activeRules: {
    name: rule.name
    location: 'global'
    tags: tags
    properties: {
      description: rule.description
      severity: rule.severity
      enabled: true
      scopes: [
        rule.target == 'replica' ? replicaServerId : primaryServerId
      ]
      evaluationFrequency: rule.frequency
      windowSize: rule.windowSize
      autoMitigate: true
      targetResourceType: 'Microsoft.DBforPostgreSQL/flexibleServers'
      criteria: {
        'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
        allOf: [
          {
            criterionType: 'StaticThresholdCriterion'
            name: rule.metricName
            metricNamespace: 'Microsoft.DBforPostgreSQL/flexibleServers'
            metricName: rule.metricName
            operator: rule.operator
            threshold: rule.threshold
            timeAggregation: rule.aggregation
          }
        ]
      }
      actions: [
        {
          actionGroupId: rule.actionGroup == 'critical' ? criticalGroup.id : warningGroup.id
        }
      ]
    }
  }
]

// HA failovers and outages show in Resource Health, not in Event Grid (azure-examples/SOURCES.md).
resource resourceHealthAlert 'Microsoft.Insights/activityLogAlerts@2026-01-01' = {
  name: 'alert-resource-health-postgresql-${environmentName}'
  location: 'global'
  tags: tags
  properties: {
    description: 'Resource Health of the Product-Change flexible servers (failover, unavailability) to dbops failover-check and on-call.'
    enabled: true
    scopes: [
      resourceGroup().id
    ]
    condition: {
      allOf: [
        {
          field: 'category'
          equals: 'ResourceHealth'
        }
        {
          field: 'resourceType'
          equals: 'Microsoft.DBforPostgreSQL/flexibleServers'
        }
      ]
    }
    actions: {
      actionGroups: [
        {
          actionGroupId: criticalGroup.id
        }
      ]
    }
  }
}

@description('Resource id of the critical action group (budget notifications use it too).')
output criticalActionGroupId string = criticalGroup.id

@description('Resource id of the warning action group.')
output warningActionGroupId string = warningGroup.id
