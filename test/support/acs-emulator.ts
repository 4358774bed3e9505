/**
 * Azure Communication Services e-mail and SMS, answering like the REST APIs do, for the real
 * @azure/communication-email and @azure/communication-sms clients:
 * - POST /emails:send → 202, Operation-Location; GET /emails/operations/{id} → Running, then
 *   Succeeded (a long-running operation). A repeated Operation-Id returns the same operation.
 * - POST /sms → 202 with one result per recipient.
 * - Every request must carry a valid HMAC-SHA256 signature made with the access key.
 * Route handlers (`acsRoutes`) are separate from the tiny HTTPS server so they can move into the
 * shared Azure emulator later.
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { Agent } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';

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
export type Fault = number | 'hang' | { smsFailFor: string[] };

export interface AcsState {
  emails: SentEmail[];
  sms: SentSms[];
  requests: Array<{ method: string; path: string }>;
  faults: Record<AcsApi, Fault[]>;
}

interface Operation {
  email: SentEmail;
  polls: number;
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

const error = (res: ServerResponse, status: number, code: string, message: string) => json(res, status, { error: { code, message } });

function verifyHmac(req: IncomingMessage, body: string, accessKey: string): string | undefined {
  const auth = req.headers.authorization ?? '';
  const match = /^HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=(.+)$/.exec(auth);
  if (!match) return 'missing or malformed HMAC-SHA256 Authorization header';
  const date = String(req.headers['x-ms-date'] ?? '');
  const contentHash = String(req.headers['x-ms-content-sha256'] ?? '');
  if (createHash('sha256').update(body).digest('base64') !== contentHash) return 'x-ms-content-sha256 does not match the body';
  const stringToSign = `${req.method}\n${req.url}\n${date};${req.headers.host};${contentHash}`;
  const expected = createHmac('sha256', Buffer.from(accessKey, 'base64')).update(stringToSign).digest();
  const given = Buffer.from(match[1]!, 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'signature does not match';
  return undefined;
}

/** The ACS handlers; `handle` returns false for a path it does not serve. */
export function acsRoutes(options: { accessKey: string; origin: () => string }) {
  const state: AcsState = { emails: [], sms: [], requests: [], faults: { email: [], sms: [] } };
  const operations = new Map<string, Operation>();

  const takeFault = (api: AcsApi, res: ServerResponse): Fault | undefined => {
    const fault = state.faults[api].shift();
    if (fault === 'hang') return fault; // never answered; the client's deadline ends it
    if (typeof fault === 'number') error(res, fault, fault === 429 ? 'TooManyRequests' : 'InternalError', `scripted failure ${fault}`);
    return fault;
  };

  function handle(req: IncomingMessage, res: ServerResponse, body: string): boolean {
    const url = new URL(req.url ?? '/', 'https://acs');
    const path = url.pathname;
    if (!['/emails:send', '/sms'].includes(path) && !path.startsWith('/emails/operations/')) return false;
    state.requests.push({ method: req.method ?? '', path });
    const denied = verifyHmac(req, body, options.accessKey);
    if (denied) {
      error(res, 401, 'Denied', `Denied by the resource provider: ${denied}.`);
      return true;
    }
    const apiVersion = url.searchParams.get('api-version');
    if (!apiVersion) {
      error(res, 400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
      return true;
    }

    if (req.method === 'POST' && path === '/emails:send') {
      const fault = takeFault('email', res);
      if (fault !== undefined) return true;
      const msg = JSON.parse(body) as {
        senderAddress?: string;
        content?: { subject?: string; plainText?: string; html?: string };
        recipients?: { to?: Array<{ address: string }> };
      };
      if (!msg.senderAddress || !msg.content?.subject || !msg.recipients?.to?.length) {
        error(res, 400, 'BadRequest', 'senderAddress, content.subject and recipients.to are required.');
        return true;
      }
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
      json(res, 202, { id: operationId, status: 'Running' }, {
        'operation-location': `${options.origin()}/emails/operations/${operationId}?api-version=${apiVersion}`,
        'retry-after': '0',
      });
      return true;
    }

    if (req.method === 'GET' && path.startsWith('/emails/operations/')) {
      const id = decodeURIComponent(path.slice('/emails/operations/'.length));
      const op = operations.get(id);
      if (!op) {
        error(res, 404, 'NotFound', `operation ${id} not found`);
        return true;
      }
      op.polls += 1;
      json(res, 200, { id, status: op.polls > 1 ? 'Succeeded' : 'Running' }, op.polls > 1 ? {} : { 'retry-after': '0' });
      return true;
    }

    if (req.method === 'POST' && path === '/sms') {
      const fault = takeFault('sms', res);
      if (fault !== undefined && typeof fault !== 'object') return true;
      const msg = JSON.parse(body) as { from?: string; message?: string; smsRecipients?: Array<{ to: string; repeatabilityRequestId?: string }> };
      if (!msg.from || !msg.message || !msg.smsRecipients?.length) {
        error(res, 400, 'BadRequest', 'from, message and smsRecipients are required.');
        return true;
      }
      const failFor = typeof fault === 'object' ? fault.smsFailFor : [];
      const accepted = msg.smsRecipients.map((r) => r.to).filter((to) => !failFor.includes(to));
      if (accepted.length > 0) state.sms.push({ from: msg.from, to: accepted, message: msg.message });
      json(res, 202, {
        value: msg.smsRecipients.map((r) =>
          failFor.includes(r.to)
            ? { to: r.to, httpStatusCode: 503, repeatabilityResult: 'accepted', successful: false, errorMessage: 'Service unavailable, try again.' }
            : { to: r.to, messageId: `Outgoing_${randomUUID()}_noam`, httpStatusCode: 202, repeatabilityResult: 'accepted', successful: true },
        ),
      });
      return true;
    }

    error(res, 405, 'MethodNotAllowed', `${req.method} ${path} is not supported`);
    return true;
  }

  return { state, handle };
}

export interface AcsEmulator {
  endpoint: string;
  accessKey: string;
  /** Trusts the emulator's self-signed certificate; pass it to the SDK clients. */
  agent: Agent;
  state: AcsState;
  close(): Promise<void>;
}

export async function startAcsEmulator(): Promise<AcsEmulator> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
  });
  const accessKey = randomBytes(32).toString('base64');
  let origin = '';
  const routes = acsRoutes({ accessKey, origin: () => origin });
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer({ key: pems.private, cert: pems.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const before = res.writableEnded;
      if (!routes.handle(req, res, Buffer.concat(chunks).toString('utf8'))) error(res, 404, 'NotFound', `no route for ${req.url}`);
      if (!before && !res.writableEnded) hanging.add(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `https://localhost:${(server.address() as AddressInfo).port}`;
  const agent = new Agent({ ca: pems.cert, keepAlive: false });
  return {
    endpoint: origin,
    accessKey,
    agent,
    state: routes.state,
    async close() {
      for (const res of hanging) res.destroy();
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
