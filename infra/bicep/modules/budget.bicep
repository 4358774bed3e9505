metadata description = 'Monthly cost budget for the resource group (plan 9.2.1: $1,600 per month) with actual and forecast notifications.'

@description('Budget name.')
param budgetName string

@description('Monthly budget in the billing currency (plan 9.2.1: 1600 USD; plan 9.1.1 expects about 1400).')
@minValue(1)
param amount int

@description('First day of the budget period, yyyy-MM-01. Cannot change after the budget exists.')
param startDate string

@description('Percentages of the budget at which actual cost notifies.')
param actualThresholds array

@description('Percentages of the budget at which forecast cost notifies.')
param forecastThresholds array

@description('E-mail addresses notified.')
param contactEmails array

@description('Action group notified (the critical group).')
param actionGroupId string

var actualNotifications = toObject(actualThresholds, t => 'Actual_GreaterThan_${t}_Percent', t => {
  enabled: true
  operator: 'GreaterThan'
  threshold: t
  thresholdType: 'Actual'
  contactEmails: contactEmails
  contactGroups: [
    actionGroupId
  ]
  locale: 'ko-kr'
})

var forecastNotifications = toObject(forecastThresholds, t => 'Forecasted_GreaterThan_${t}_Percent', t => {
  enabled: true
  operator: 'GreaterThan'
  threshold: t
  thresholdType: 'Forecasted'
  contactEmails: contactEmails
  contactGroups: [
    actionGroupId
  ]
  locale: 'ko-kr'
})

resource budget 'Microsoft.Consumption/budgets@2026-06-01' = {
  name: budgetName
  properties: {
    category: 'Cost'
    amount: amount
    timeGrain: 'Monthly'
    timePeriod: {
      startDate: startDate
    }
    notifications: union(actualNotifications, forecastNotifications)
  }
}

@description('Resource id of the budget.')
output budgetId string = budget.id
