import { randomUUID } from 'node:crypto';
import type { Agent } from 'node:https';
import type { KeyCredential, TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { AbortError } from 'p-retry';
import type { Logger } from '../platform/log.js';
import { memoizeUntilRejected } from '../shared/async.js';
import { lazyDefaultCredential } from '../platform/azure/credential.js';
import { registerSecret } from '../platform/redact.js';
import type { RenderedAlert } from './messages.js';
import type { ChannelName } from './routing.js';
import { teamsMessage } from './teams-card.js';

/**
 * A channel turns a rendered alert into one send. `prepare` returns the function each attempt
 * calls, so state between attempts (the SMS recipients already reached, the e-mail operation
 * id that makes a retried send idempotent) lives in its closure. An attempt throws to fail;
 * it throws p-retry's AbortError when retrying cannot help (a 4xx other than 408/429).
 */
export interface Channel {
  readonly name: ChannelName;
  prepare(alert: RenderedAlert): (signal: AbortSignal) => Promise<void>;
}

export class SendError extends Error {
  override name = 'SendError';
}

export function logChannel(log: Logger): Channel {
  return {
    name: 'log',
    prepare: (alert) => async () => {
      const e = alert.event;
      const fields = { alert: e.kind, job: e.job, check: e.check, target: e.target, severity: e.severity, priority: alert.priority };
      if (e.kind === 'recovery') log.info(alert.title, fields);
      else if (e.severity === 'critical') log.error(alert.title, fields);
      else log.warn(alert.title, fields);
    },
  };
}

const retryable = (status: number) => status === 408 || status === 429 || status >= 500;

/** Microsoft Teams through a Workflows webhook; the card format is in teams-card.ts. */
export function teamsChannel(webhookUrl: string): Channel {
  registerSecret(webhookUrl);
  return {
    name: 'teams',
    prepare: (alert) => {
      const body = JSON.stringify(teamsMessage(alert));
      return async (signal) => {
        const res = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return;
        const err = new SendError(`Teams webhook answered HTTP ${res.status}`);
        if (!retryable(res.status)) throw new AbortError(err);
        throw err;
      };
    },
  };
}

export interface AcsConnection {
  endpoint: string;
  /** HMAC access key; without it the managed identity (the runtime's credential) signs in. */
  accessKey?: string;
  /** The runtime's Azure credential; by default DefaultAzureCredential, loaded on first use. */
  credential?: TokenCredential;
  /** Trust for a local emulator's certificate (tests); production uses the system's CAs. */
  agent?: Agent;
  /** Poll interval of the e-mail send operation. */
  pollIntervalMs?: number;
}

async function acsCredential(acs: AcsConnection): Promise<KeyCredential | TokenCredential> {
  if (acs.accessKey) {
    registerSecret(acs.accessKey);
    const { AzureKeyCredential } = await import('@azure/core-auth');
    return new AzureKeyCredential(acs.accessKey);
  }
  return acs.credential ?? lazyDefaultCredential();
}

/** p-retry owns retries, so the SDK's own retry policy is off; the agent is set per request. */
function acsClientOptions(acs: AcsConnection) {
  const agent = acs.agent;
  const agentPolicy: PipelinePolicy = {
    name: 'dbopsAgent',
    sendRequest: (request, next) => {
      if (agent) request.agent = agent;
      return next(request);
    },
  };
  return { retryOptions: { maxRetries: 0 }, additionalPolicies: [{ policy: agentPolicy, position: 'perCall' as const }] };
}

/** E-mail through Azure Communication Services: a long-running send, polled to its end. */
export function emailChannel(acs: AcsConnection, sender: string, to: readonly string[]): Channel {
  const client = memoizeUntilRejected(async () => {
    const { EmailClient } = await import('@azure/communication-email');
    return new EmailClient(acs.endpoint, await acsCredential(acs), acsClientOptions(acs));
  });
  return {
    name: 'email',
    prepare: (alert) => {
      const operationId = randomUUID();
      const html = emailHtml(alert);
      return async (signal) => {
        const poller = await (await client()).beginSend(
          {
            senderAddress: sender,
            content: { subject: alert.title, plainText: alert.plainText, html },
            recipients: { to: to.map((address) => ({ address })) },
          },
          { operationId, abortSignal: signal, ...(acs.pollIntervalMs !== undefined ? { updateIntervalInMs: acs.pollIntervalMs } : {}) },
        );
        const result = await poller.pollUntilDone({ abortSignal: signal });
        if (result.status !== 'Succeeded') throw new SendError(`e-mail send ended ${result.status}${result.error?.message ? `: ${result.error.message}` : ''}`);
      };
    },
  };
}

/** SMS through Azure Communication Services; a retry goes only to the numbers not yet reached. */
export function smsChannel(acs: AcsConnection, from: string, to: readonly string[]): Channel {
  const client = memoizeUntilRejected(async () => {
    const { SmsClient } = await import('@azure/communication-sms');
    const credential = await acsCredential(acs);
    return 'getToken' in credential
      ? new SmsClient(acs.endpoint, credential, acsClientOptions(acs))
      : new SmsClient(acs.endpoint, credential, acsClientOptions(acs));
  });
  return {
    name: 'sms',
    prepare: (alert) => {
      let pending = [...to];
      return async (signal) => {
        const results = await (await client()).send({ from, to: pending, message: alert.shortText }, { enableDeliveryReport: false, abortSignal: signal });
        const failed = results.filter((r) => !r.successful);
        pending = failed.map((r) => r.to);
        if (failed.length > 0) {
          const err = new SendError(`SMS not accepted for ${failed.length} of ${results.length} recipient(s): ${failed[0]?.errorMessage ?? `HTTP ${failed[0]?.httpStatusCode}`}`);
          if (failed.every((r) => r.httpStatusCode >= 400 && !retryable(r.httpStatusCode))) throw new AbortError(err);
          throw err;
        }
      };
    },
  };
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function emailHtml(alert: RenderedAlert): string {
  const color = alert.event.kind === 'recovery' ? '#107c10' : alert.event.severity === 'critical' ? '#c50f1f' : '#bc4b09';
  const rows = alert.facts.map((f) => `<tr><th align="left" style="padding:2px 12px 2px 0">${escapeHtml(f.label)}</th><td>${escapeHtml(f.value)}</td></tr>`).join('');
  return [
    `<h2 style="color:${color}">${escapeHtml(alert.title)}</h2>`,
    `<p>${escapeHtml(alert.headline)}</p>`,
    `<table>${rows}</table>`,
    `<p><b>${escapeHtml(alert.firstStep)}</b></p>`,
    ...(alert.remedy ? [`<pre>${escapeHtml(alert.remedy)}</pre>`] : []),
  ].join('\n');
}
