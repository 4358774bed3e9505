/**
 * Azure Communication Services e-mail and SMS, answering like the REST APIs do, for the real
 * @azure/communication-email and @azure/communication-sms clients:
 * - POST /emails:send → 202, Operation-Location; GET /emails/operations/{id} → Running, then
 *   Succeeded (a long-running operation). A repeated Operation-Id returns the same operation.
 * - POST /sms → 202 with one result per recipient.
 * - Every request must carry a valid HMAC-SHA256 signature made with the access key (ACS does
 *   not take the emulator's bearer token), which is why these routes read the raw body.
 */
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { NO_ANSWER, type EmulatorRequest, type EmulatorResponse, type RouteDefinition } from './core.js';

export interface SentEmail {
  operationId: string;
  senderAddress: string;
  subject: string;
  plainText: string;
  html?: string;
  to: string[];
}

export interface SentSms {
  from: string;
  to: string[];
  message: string;
}

export type AcsApi = 'email' | 'sms';
/** A scripted answer: an HTTP status to fail with, 'hang' to never answer, or per-recipient SMS failures. */
export type AcsFault = number | 'hang' | { smsFailFor: string[] };

export interface AcsState {
  emails: SentEmail[];
  sms: SentSms[];
  requests: Array<{ method: string; path: string }>;
  faults: Record<AcsApi, AcsFault[]>;
}

const error = (status: number, code: string, message: string): EmulatorResponse => ({ status, body: { error: { code, message } } });

function verifyHmac(req: EmulatorRequest, accessKey: string): string | undefined {
  const auth = String(req.headers.authorization ?? '');
  const match = /^HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=(.+)$/.exec(auth);
  if (!match) return 'no HMAC-SHA256 Authorization header';
  const date = String(req.headers['x-ms-date'] ?? '');
  const contentHash = String(req.headers['x-ms-content-sha256'] ?? '');
  if (createHash('sha256').update(req.rawBody).digest('base64') !== contentHash) return 'x-ms-content-sha256 does not match the body';
  const stringToSign = `${req.method}\n${req.url.pathname}${req.url.search}\n${date};${req.headers.host};${contentHash}`;
  const expected = createHmac('sha256', Buffer.from(accessKey, 'base64')).update(stringToSign).digest();
  const given = Buffer.from(match[1]!, 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'signature does not match';
  return undefined;
}

/** The ACS routes for the emulator's route registry, and the state a test reads and scripts. */
export function communicationRoutes(options: { accessKey: string; origin: () => string }): { state: AcsState; routes: RouteDefinition[] } {
  const state: AcsState = { emails: [], sms: [], requests: [], faults: { email: [], sms: [] } };
  const operations = new Map<string, { email: SentEmail; polls: number }>();

  /**
   * An ACS route: signature and api-version first, as the service checks them; then, for a send
   * (`faults` names its API), the next scripted fault; then `answer`.
   */
  const acsRoute = (
    route: Pick<RouteDefinition, 'operation' | 'method' | 'path'>,
    faults: AcsApi | null,
    answer: (req: EmulatorRequest, smsFailFor: string[]) => EmulatorResponse,
  ): RouteDefinition => ({
    ...route,
    auth: 'none',
    handler(req) {
      state.requests.push({ method: req.method, path: req.url.pathname });
      const denied = verifyHmac(req, options.accessKey);
      if (denied) return error(401, 'Denied', `Denied by the resource provider: ${denied}.`);
      if (!req.query.get('api-version')) return error(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
      const fault = faults ? state.faults[faults].shift() : undefined;
      if (fault === 'hang') return NO_ANSWER; // the client's own deadline ends it
      if (typeof fault === 'number') return error(fault, fault === 429 ? 'TooManyRequests' : 'InternalError', `scripted failure ${fault}`);
      return answer(req, fault?.smsFailFor ?? []);
    },
  });

  const routes: RouteDefinition[] = [
    acsRoute({ operation: 'acs.email.send', method: 'POST', path: '/emails:send' }, 'email', (req) => {
      const msg = req.body as { senderAddress?: string; content?: { subject?: string; plainText?: string; html?: string }; recipients?: { to?: Array<{ address: string }> } } | undefined;
      if (!msg?.senderAddress || !msg.content?.subject || !msg.recipients?.to?.length) return error(400, 'BadRequest', 'senderAddress, content.subject and recipients.to are required.');
      const operationId = String(req.headers['operation-id'] ?? randomUUID());
      if (!operations.has(operationId)) {
        const email: SentEmail = {
          operationId,
          senderAddress: msg.senderAddress,
          subject: msg.content.subject,
          plainText: msg.content.plainText ?? '',
          ...(msg.content.html ? { html: msg.content.html } : {}),
          to: msg.recipients.to.map((r) => r.address),
        };
        operations.set(operationId, { email, polls: 0 });
        state.emails.push(email);
      }
      return {
        status: 202,
        body: { id: operationId, status: 'Running' },
        headers: { 'operation-location': `${options.origin()}/emails/operations/${operationId}?api-version=${req.query.get('api-version')}`, 'retry-after': '0' },
      };
    }),
    acsRoute({ operation: 'acs.email.status', method: 'GET', path: '/emails/operations/{id}' }, null, (req) => {
      const id = req.params.id!;
      const op = operations.get(id);
      if (!op) return error(404, 'NotFound', `operation ${id} not found`);
      op.polls += 1;
      return { status: 200, body: { id, status: op.polls > 1 ? 'Succeeded' : 'Running' }, ...(op.polls > 1 ? {} : { headers: { 'retry-after': '0' } }) };
    }),
    acsRoute({ operation: 'acs.sms.send', method: 'POST', path: '/sms' }, 'sms', (req, failFor) => {
      const msg = req.body as { from?: string; message?: string; smsRecipients?: Array<{ to: string }> } | undefined;
      if (!msg?.from || !msg.message || !msg.smsRecipients?.length) return error(400, 'BadRequest', 'from, message and smsRecipients are required.');
      const accepted = msg.smsRecipients.map((r) => r.to).filter((to) => !failFor.includes(to));
      if (accepted.length > 0) state.sms.push({ from: msg.from, to: accepted, message: msg.message });
      return {
        status: 202,
        body: {
          value: msg.smsRecipients.map((r) =>
            failFor.includes(r.to)
              ? { to: r.to, httpStatusCode: 503, repeatabilityResult: 'accepted', successful: false, errorMessage: 'Service unavailable, try again.' }
              : { to: r.to, messageId: `Outgoing_${randomUUID()}_noam`, httpStatusCode: 202, repeatabilityResult: 'accepted', successful: true },
          ),
        },
      };
    }),
  ];
  return { state, routes };
}
