import { z } from 'zod';
import { int, list, optionalString, setting } from '../platform/settings.js';
import { routesSchema } from './routing.js';

const optionalHttpsUrl = () =>
  z
    .url({ message: 'expected an absolute https:// URL' })
    .refine((u) => u.startsWith('https://') || u.startsWith('http://localhost') || u.startsWith('http://127.0.0.1'), {
      message: 'expected an https:// URL',
    })
    .optional();

/** Alert channels, routing and de-duplication (plan section 6.2). */
export const notifySettings = {
  teamsWebhookUrl: setting({
    env: 'DBOPS_TEAMS_WEBHOOK_URL',
    doc: 'Microsoft Teams Workflows webhook ("When a Teams webhook request is received") that posts alerts as Adaptive Cards to the operations channel. Unset: no Teams alerts.',
    example: 'https://prod-00.koreacentral.logic.azure.com/workflows/…/triggers/manual/paths/invoke?…',
    secret: true,
    schema: optionalHttpsUrl(),
  }),
  acsEndpoint: setting({
    env: 'DBOPS_ACS_ENDPOINT',
    doc: "Azure Communication Services endpoint for alert e-mail and SMS. Signs in with the Function App's managed identity unless DBOPS_ACS_ACCESS_KEY is set.",
    example: 'https://acs-dbops-prod.korea.communication.azure.com',
    schema: optionalHttpsUrl(),
  }),
  acsAccessKey: setting({
    env: 'DBOPS_ACS_ACCESS_KEY',
    doc: 'Azure Communication Services access key (HMAC), instead of managed identity. Prefer identity in Azure.',
    secret: true,
    schema: optionalString(),
  }),
  emailSender: setting({
    env: 'DBOPS_ACS_EMAIL_SENDER',
    doc: 'Sender address of alert e-mail (a MailFrom address of a domain connected to the ACS resource).',
    example: 'DoNotReply@dbops.example.com',
    schema: z.email({ message: 'expected an e-mail address' }).optional(),
  }),
  emailTo: setting({
    env: 'DBOPS_ALERT_EMAIL_TO',
    doc: 'Comma-separated e-mail recipients of important alerts (DBA, managers; plan 6.2.1). Unset: no e-mail alerts.',
    example: 'dba@example.com,ops-lead@example.com',
    schema: list().pipe(z.array(z.email({ message: 'every recipient must be an e-mail address' }))),
  }),
  smsFrom: setting({
    env: 'DBOPS_ACS_SMS_FROM',
    doc: 'Sending number of alert SMS (E.164, a number acquired in the ACS resource).',
    example: '+18005550100',
    schema: z.string().regex(/^\+[1-9]\d{6,14}$/, { message: 'expected an E.164 number such as +18005550100' }).optional(),
  }),
  smsTo: setting({
    env: 'DBOPS_ALERT_SMS_TO',
    doc: 'Comma-separated E.164 numbers of the people on call for urgent alerts (plan 6.2.1). Unset: no SMS alerts.',
    example: '+821012345678',
    schema: list().pipe(z.array(z.string().regex(/^\+[1-9]\d{6,14}$/, { message: 'every number must be E.164, e.g. +821012345678' }))),
  }),
  language: setting({
    env: 'DBOPS_ALERT_LANGUAGE',
    doc: 'Language of alert messages: "ko" (Korean) or "en" (English).',
    default: 'ko',
    schema: z.enum(['ko', 'en'], { message: 'expected "ko" or "en"' }),
  }),
  renotifyMinutes: setting({
    env: 'DBOPS_ALERT_RENOTIFY_MINUTES',
    doc: 'A finding that persists is sent again after this many minutes (0: only once until it clears). A worse severity is sent at once.',
    default: '240',
    schema: int(0, 10_080),
  }),
  routes: setting({
    env: 'DBOPS_ALERT_ROUTES',
    doc: 'Routing rules tried before the plan\'s table, first match wins: a JSON array of {"job"?, "check"?, "severity"?, "channels"}; job and check take * wildcards, channels are "teams", "email", "sms". E.g. [{"check":"cpu.*","severity":"warning","channels":["teams","email"]}]. The log always gets every alert.',
    example: '[{"check":"cost.*","channels":["email"]}]',
    schema: routesSchema,
  }),
  sendTimeoutSeconds: setting({
    env: 'DBOPS_ALERT_SEND_TIMEOUT_SECONDS',
    doc: 'Longest wait for one send attempt on one channel; a channel that does not answer in time counts as failed.',
    default: '15',
    schema: int(1, 300),
  }),
  sendRetries: setting({
    env: 'DBOPS_ALERT_SEND_RETRIES',
    doc: 'Retries of a failed send (with exponential back-off) before it is recorded as failed.',
    default: '3',
    schema: int(0, 10),
  }),
  retryMinMs: setting({
    env: 'DBOPS_ALERT_RETRY_MIN_MS',
    doc: 'First back-off between send attempts, in milliseconds; each later one doubles.',
    default: '1000',
    schema: int(0, 60_000),
  }),
} as const;
