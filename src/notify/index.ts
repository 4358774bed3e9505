export { createNotifier, notifierFromEnv, notifierConfigFromEnv, createNotifyService, getNotify, NOTIFY_SERVICE, type NotifyService, channelsFromSettings, alertingFindings, type AfterRunHook, type NotifierConfig, type NotifierOptions } from './notifier.js';
export { emailChannel, logChannel, smsChannel, teamsChannel, type AcsConnection, type Channel } from './channels.js';
export { channelsFor, PLAN_ROUTES, routingMarkdown, type Route } from './routing.js';
export { renderAlert, priorityOf, firstStepFor, type AlertEvent, type Language, type RenderedAlert } from './messages.js';
export { teamsMessage, type TeamsWorkflowMessage, type AdaptiveCard } from './teams-card.js';
export { notifySettings } from './settings.js';
