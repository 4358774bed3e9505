import { randomBytes } from 'node:crypto';
import { request as httpsRequest, createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { createAzureServices, type AzureServices, type ClientFactoryOptions } from '../platform/azure/index.js';
import type { Env } from '../platform/settings.js';
import { EmulatorCore, type CallRecord, type Fault, type FaultHandle, type RouteDefinition } from './core.js';
import { installCost, type CostState } from './cost.js';
import { installKeyVault, type KeyVaultState } from './keyvault.js';
import { installHealth, installLogs, installMetrics, type HealthState, type LogsState, type MetricsState } from './monitor.js';
import { installOperationStatus, installPostgres, type PostgresState } from './postgres.js';
import { emulatorTls } from './tls.js';

export type { Fault, FaultHandle, RouteDefinition, EmulatorRequest, EmulatorResponse, CallRecord } from './core.js';
export { armError } from './core.js';
export type { EmulatedServer, EmulatedBackup, RestoreRequest, RestoreResult, PostgresHooks } from './postgres.js';

export interface AzureEmulatorOptions {
  subscriptionId?: string;
  resourceGroup?: string;
  /** Primary flexible server's name (created Ready, zone-redundant HA). */
  serverName?: string;
  /** Its read replica (Korea South). */
  replicaName?: string;
  location?: string;
  workspaceId?: string;
  /** Extra routes (another module's API, e.g. Communication Services). */
  routes?: RouteDefinition[];
}

export interface AzureEmulator {
  /** https://127.0.0.1:<port>, this emulator's own port. */
  readonly endpoint: string;
  /** PEM of the self-signed certificate it serves. */
  readonly ca: string;
  /** A static TokenCredential whose token the emulator accepts (and no other). */
  readonly credential: TokenCredential;
  /** Settings that point the client layer at this emulator. */
  readonly env: Record<string, string>;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly serverName: string;
  readonly replicaName: string;
  readonly workspaceId: string;

  readonly postgres: PostgresState;
  readonly cost: CostState;
  readonly keyVault: KeyVaultState;
  readonly metrics: MetricsState;
  readonly logs: LogsState;
  readonly health: HealthState;
  /** Every request answered, in order (operation name, path, api-version, status, body). */
  readonly calls: readonly CallRecord[];

  /** Adds a fault for the named operation (see README); `operation: '*'` matches any. */
  inject(fault: Fault): FaultHandle;
  clearFaults(): void;
  /** Adds or overrides a route; later routes win. */
  addRoute(route: RouteDefinition): void;
  /** Status polls a new long-running operation answers InProgress before finishing (default 1). */
  setOperationPolls(polls: number): void;
  /** Completes every pending long-running operation now (except hung ones). */
  settleOperations(): Promise<void>;
  /** For a long-running route of another module: the 202 headers announcing a new operation. */
  startOperation(input: { operation: string; provider: string; location?: string; work?: () => Promise<void>; onSuccess?: () => void; onFailure?: () => void }): Record<string, string>;

  /** The client layer wired to this emulator: the same object the runtime provides as `azure`. */
  services(options?: { env?: Env; client?: ClientFactoryOptions }): AzureServices;
  /** A raw HTTPS call with the emulator's token, for checking answers as sent (shape tests). */
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: unknown }>;
  close(): Promise<void>;
}

/** Starts an emulator on its own free port with its own state. Close it in afterAll. */
export async function startAzureEmulator(options: AzureEmulatorOptions = {}): Promise<AzureEmulator> {
  const tls = await emulatorTls();
  const token = `emulator-${randomBytes(24).toString('hex')}`;
  const core = new EmulatorCore(token);
  const subscriptionId = options.subscriptionId ?? '00000000-0000-4000-8000-000000000001';
  const resourceGroup = options.resourceGroup ?? 'rg-dbops-test';
  const serverName = options.serverName ?? 'pg-dbops-test';
  const replicaName = options.replicaName ?? `${serverName}-replica`;
  const workspaceId = options.workspaceId ?? '00000000-0000-4000-8000-0000000000aa';
  const location = options.location ?? 'koreacentral';

  installOperationStatus(core);
  const postgres = installPostgres(core, { subscriptionId, resourceGroup, primary: serverName, replica: replicaName, location });
  const cost = installCost(core);
  const keyVault = installKeyVault(core);
  const metrics = installMetrics(core);
  const logs = installLogs(core);
  const health = installHealth(core);
  for (const route of options.routes ?? []) core.addRoute(route);

  const server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    core.handle(req, res).catch((err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  core.endpoint = endpoint;

  const credential: TokenCredential = {
    getToken: async (): Promise<AccessToken> => ({ token, expiresOnTimestamp: Date.now() + 3600_000 }),
  };
  const env: Record<string, string> = {
    DBOPS_AZURE_SUBSCRIPTION_ID: subscriptionId,
    DBOPS_AZURE_RESOURCE_GROUP: resourceGroup,
    DBOPS_AZURE_SERVER_NAME: serverName,
    DBOPS_AZURE_REPLICA_NAME: replicaName,
    DBOPS_AZURE_LOCATION: location,
    DBOPS_AZURE_ARM_ENDPOINT: endpoint,
    DBOPS_AZURE_MONITOR_ENDPOINT: endpoint,
    DBOPS_AZURE_REPLICA_MONITOR_ENDPOINT: endpoint,
    DBOPS_AZURE_LOGS_ENDPOINT: `${endpoint}/v1`,
    DBOPS_KEYVAULT_URL: endpoint,
    DBOPS_LOG_ANALYTICS_WORKSPACE_ID: workspaceId,
  };

  return {
    endpoint,
    ca: tls.cert,
    credential,
    env,
    subscriptionId,
    resourceGroup,
    serverName,
    replicaName,
    workspaceId,
    postgres,
    cost,
    keyVault,
    metrics,
    logs,
    health,
    calls: core.calls,
    inject: (fault) => core.inject(fault),
    clearFaults: () => core.clearFaults(),
    addRoute: (route) => core.addRoute(route),
    setOperationPolls: (polls) => void (core.defaultPolls = polls),
    settleOperations: () => core.settleOperations(),
    startOperation: (input) => core.startOperation({ subscriptionId, ...input }),
    services: ({ env: extra, client } = {}) =>
      createAzureServices(
        { ...env, ...extra },
        {
          credential,
          tlsCa: tls.cert,
          // Fast transient-error retries and polls: tests stay in milliseconds.
          retry: { maxRetries: 3, retryDelayInMs: 5, maxRetryDelayInMs: 20 },
          pollIntervalMs: 5,
          sleep: async () => undefined,
          ...client,
        },
      ),
    request: (method, path, body, headers = {}) =>
      new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const req = httpsRequest(
          `${endpoint}${path}`,
          { method, ca: tls.cert, headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json' } : {}), ...headers } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? (JSON.parse(text) as unknown) : undefined });
            });
          },
        );
        req.on('error', reject);
        req.end(payload);
      }),
    close: () =>
      new Promise<void>((resolve) => {
        core.releaseHeld();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
