import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

export interface EmulatorRequest {
  operation: string;
  method: string;
  url: URL;
  /** Path parameters named in the route pattern, e.g. `{serverName}`. */
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body (undefined when empty or not JSON). */
  body: unknown;
  /** The body as sent, for APIs that sign it (Communication Services' HMAC). */
  rawBody: string;
}

/** A handler's answer that never comes: the request stays open until the emulator closes. */
export const NO_ANSWER = Symbol('no answer');

export interface EmulatorResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * How a route authenticates: `bearer` wants the emulator's token (ARM, Monitor, Logs);
 * `keyvault` answers a request without one with the 401 challenge Key Vault clients expect.
 */
export type RouteAuth = 'bearer' | 'keyvault' | 'none';

export interface RouteDefinition {
  /** Name used by fault injection and the call log, e.g. "servers.get". */
  operation: string;
  method: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** Path pattern; `{name}` matches one segment, `{name*}` one or more. Case-insensitive, like ARM. */
  path: string;
  auth?: RouteAuth;
  /** Answers 202 and starts an operation: a `hang` fault then stalls the operation, not the request. */
  longRunning?: boolean;
  handler(req: EmulatorRequest): EmulatorResponse | typeof NO_ANSWER | Promise<EmulatorResponse | typeof NO_ANSWER>;
}

export type Fault =
  /** Answer with this status and an ARM-style error body, `times` times (default 1). */
  | { operation: string; kind: 'error'; status: number; code?: string; message?: string; times?: number }
  /** 429 with Retry-After and/or Cost Management's QPU header. */
  | { operation: string; kind: 'throttle'; retryAfterSeconds?: number; qpuRetryAfterSeconds?: number; times?: number }
  /** A long-running operation is accepted but never completes; any other request is never answered. */
  | { operation: string; kind: 'hang'; times?: number }
  /** A long-running operation is accepted, then ends `Failed` with this error. */
  | { operation: string; kind: 'lro-fail'; code: string; message: string; times?: number };

export interface FaultHandle {
  readonly fault: Fault;
  /** How many requests it has affected. */
  readonly hits: number;
  remove(): void;
}

export interface CallRecord {
  operation: string;
  method: string;
  path: string;
  apiVersion: string | null;
  status: number;
  body: unknown;
}

interface Compiled {
  route: RouteDefinition;
  regex: RegExp;
  names: string[];
}

function compile(route: RouteDefinition): Compiled {
  const names: string[] = [];
  const source = route.path
    .split(/(\{[A-Za-z0-9_]+\*?\})/)
    .map((part) => {
      const m = /^\{([A-Za-z0-9_]+)(\*?)\}$/.exec(part);
      if (!m) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(m[1]!);
      return m[2] ? '(.+?)' : '([^/]*)';
    })
    .join('');
  return { route, regex: new RegExp(`^${source}/?$`, 'i'), names };
}

/** Thrown by an operation's work to end it Failed with this ARM error code, as the service would. */
export class ArmFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** ARM's error body shape: `{ error: { code, message } }`. */
export const armError = (status: number, code: string, message: string): EmulatorResponse => ({ status, body: { error: { code, message } } });

export interface LongRunningOperation {
  id: string;
  operation: string;
  status: 'InProgress' | 'Succeeded' | 'Failed';
  startTime: string;
  endTime?: string;
  error?: { code: string; message: string };
  /** Status polls answered InProgress before it may finish. */
  pollsLeft: number;
  /** Real work (a database copy) the operation waits for. */
  work?: Promise<void>;
  workDone: boolean;
  /** Applied once, when the operation succeeds. */
  onSuccess?: () => void;
  onFailure?: () => void;
  hang: boolean;
}

/** Routing, authentication, faults, call log and long-running operations shared by every API. */
export class EmulatorCore {
  readonly calls: CallRecord[] = [];
  readonly operations = new Map<string, LongRunningOperation>();
  private readonly routes: Compiled[] = [];
  private readonly faults: Array<{ fault: Fault; hits: number; left: number }> = [];
  private readonly held = new Set<ServerResponse>();
  /** Status polls a new operation answers InProgress before finishing (tests may change it). */
  defaultPolls = 1;

  constructor(
    readonly token: string,
    public endpoint = '',
  ) {}

  addRoute(route: RouteDefinition): void {
    // Later registrations win, so a test or module can override a built-in route.
    this.routes.unshift(compile(route));
  }

  inject(fault: Fault): FaultHandle {
    const entry = { fault, hits: 0, left: fault.times ?? 1 };
    this.faults.push(entry);
    return {
      fault,
      get hits() {
        return entry.hits;
      },
      remove: () => {
        const i = this.faults.indexOf(entry);
        if (i >= 0) this.faults.splice(i, 1);
      },
    };
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Takes the next fault for `operation` (of the given kinds), counting it down. */
  takeFault<K extends Fault['kind']>(operation: string, kinds: readonly K[]): Extract<Fault, { kind: K }> | undefined {
    const entry = this.faults.find((f) => f.left > 0 && kinds.includes(f.fault.kind as K) && (f.fault.operation === operation || f.fault.operation === '*'));
    if (!entry) return undefined;
    entry.left -= 1;
    entry.hits += 1;
    return entry.fault as Extract<Fault, { kind: K }>;
  }

  /** Starts a long-running operation; returns the headers of the 202 that announces it. */
  startOperation(input: { operation: string; location?: string; subscriptionId: string; provider: string; work?: () => Promise<void>; onSuccess?: () => void; onFailure?: () => void }): Record<string, string> {
    const id = randomUUID();
    const op: LongRunningOperation = {
      id,
      operation: input.operation,
      status: 'InProgress',
      startTime: new Date().toISOString(),
      pollsLeft: this.defaultPolls,
      workDone: !input.work,
      hang: false,
      ...(input.onSuccess ? { onSuccess: input.onSuccess } : {}),
      ...(input.onFailure ? { onFailure: input.onFailure } : {}),
    };
    const hang = this.takeFault(input.operation, ['hang']);
    const fail = this.takeFault(input.operation, ['lro-fail']);
    if (hang) op.hang = true;
    if (fail) op.error = { code: fail.code, message: fail.message };
    if (input.work && !hang && !fail) {
      op.work = input
        .work()
        .then(() => void (op.workDone = true))
        .catch((err: unknown) => {
          op.workDone = true;
          // Work that fails the way the service would throws an ArmFailure (its code and message).
          op.error = err instanceof ArmFailure ? { code: err.code, message: err.message } : { code: 'InternalServerError', message: `emulator work failed: ${(err as Error).message}` };
        });
    }
    this.operations.set(id, op);
    const base = `${this.endpoint}/subscriptions/${input.subscriptionId}/providers/${input.provider}/locations/${input.location ?? 'koreacentral'}`;
    return {
      'Azure-AsyncOperation': `${base}/azureAsyncOperation/${id}?api-version=2025-08-01`,
      Location: `${base}/operationResults/${id}?api-version=2025-08-01`,
    };
  }

  /** Advances an operation by one status poll. */
  async advance(op: LongRunningOperation): Promise<void> {
    if (op.status !== 'InProgress' || op.hang) return;
    if (op.pollsLeft > 0) {
      op.pollsLeft -= 1;
      return;
    }
    if (op.work && !op.workDone) await op.work;
    op.endTime = new Date().toISOString();
    if (op.error) {
      op.status = 'Failed';
      op.onFailure?.();
    } else {
      op.status = 'Succeeded';
      op.onSuccess?.();
    }
  }

  /** Finishes every operation now (a test that does not want to poll). */
  async settleOperations(): Promise<void> {
    for (const op of this.operations.values()) {
      op.pollsLeft = 0;
      await this.advance(op);
    }
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.endpoint || 'https://localhost');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const path = decodeURIComponent(url.pathname);
    let matched: { route: RouteDefinition; params: Record<string, string> } | undefined;
    for (const c of this.routes) {
      if (c.route.method !== method) continue;
      const m = c.regex.exec(path);
      if (!m) continue;
      matched = { route: c.route, params: Object.fromEntries(c.names.map((n, i) => [n, m[i + 1] ?? ''])) };
      break;
    }
    const operation = matched?.route.operation ?? 'unknown';
    const send = (out: EmulatorResponse) => {
      this.calls.push({ operation, method, path, apiVersion: url.searchParams.get('api-version'), status: out.status, body });
      const headers: Record<string, string> = { 'x-ms-request-id': randomUUID(), ...out.headers };
      if (out.body !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
      res.writeHead(out.status, headers);
      res.end(out.body === undefined ? undefined : JSON.stringify(out.body));
    };

    if (!matched) return send(armError(404, 'NoRegisteredRoute', `The Azure emulator has no route for ${method} ${path}. Add one (test/support/README.md).`));
    const auth = matched.route.auth ?? 'bearer';
    const header = req.headers.authorization;
    if (auth !== 'none' && header !== `Bearer ${this.token}`) {
      if (auth === 'keyvault' && !header) {
        return send({
          status: 401,
          headers: { 'WWW-Authenticate': 'Bearer authorization="https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47", resource="https://vault.azure.net"' },
          body: { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } },
        });
      }
      return send(armError(401, header ? 'InvalidAuthenticationToken' : 'AuthenticationFailed', header ? 'The access token is invalid.' : 'Authentication failed. The Authorization header is missing.'));
    }

    const fault = this.takeFault(operation, ['error', 'throttle']);
    if (fault?.kind === 'error') return send(armError(fault.status, fault.code ?? (fault.status >= 500 ? 'InternalServerError' : 'BadRequest'), fault.message ?? 'Injected fault.'));
    if (fault?.kind === 'throttle') {
      const headers: Record<string, string> = {};
      if (fault.retryAfterSeconds !== undefined) headers['Retry-After'] = String(fault.retryAfterSeconds);
      if (fault.qpuRetryAfterSeconds !== undefined) headers['x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after'] = String(fault.qpuRetryAfterSeconds);
      return send({ status: 429, headers, body: { error: { code: '429', message: 'Too many requests. Please retry.' } } });
    }
    // Non-operation requests "hang" by never being answered (until the emulator closes).
    if (!matched.route.longRunning && this.takeFault(operation, ['hang'])) {
      this.held.add(res);
      return;
    }
    try {
      const out = await matched.route.handler({ operation, method, url, params: matched.params, query: url.searchParams, headers: req.headers, body, rawBody: text });
      if (out === NO_ANSWER) {
        this.held.add(res);
        return;
      }
      send(out);
    } catch (err) {
      send(armError(500, 'EmulatorError', (err as Error).stack ?? String(err)));
    }
  }

  releaseHeld(): void {
    for (const res of this.held) res.destroy();
    this.held.clear();
  }
}
