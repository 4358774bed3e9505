import type { TokenCredential } from '@azure/core-auth';
import type { ClientFactoryOptions } from '../../platform/azure/options.js';
import { azureCredential } from '../../platform/azure/credential.js';
import { readCoreSettings } from '../config.js';
import { resolveTarget } from '../../platform/db/connection.js';
import type { JobServices } from '../job.js';
import { createLogger, type Logger } from '../../platform/log.js';
import { createNotifier, createReachabilityNotifier, createNotifyService, notifierConfigFromEnv } from '../../notify/notifier.js';
import type { Env } from '../../platform/settings.js';
import type { RunnerDeps } from './run-job.js';

export interface RuntimeOptions {
  env?: Env;
  /** Overrides DATABASE_URL (the CLI's --database-url). */
  databaseUrl?: string;
  log?: Logger;
  now?: () => Date;
  /** The runtime's one Azure credential; by default DefaultAzureCredential (DBOPS_AZURE_CLIENT_ID honoured). */
  credential?: TokenCredential;
  /** Extra or replacement services (tests inject emulator-backed clients here). */
  services?: JobServices;
  /**
   * How the providers build their Azure clients beyond the credential (production passes
   * nothing). The demo's local Azure stand-in passes its certificate here (`tlsCa`), so only
   * this runtime's clients trust it; nothing changes process-wide.
   */
  azureClient?: AzureClientOptions;
}

/** Client options a provider passes on to createAzureServices (the credential and log are the runtime's). */
export type AzureClientOptions = Omit<ClientFactoryOptions, 'credential' | 'log'>;

/** What a provider is given: the settings, the log, and the credential every Azure client shares. */
export interface ProviderContext {
  env: Env;
  log: Logger;
  credential: TokenCredential;
  /** Extra client options (an emulator's CA); empty in production. */
  azureClient: AzureClientOptions;
}

/**
 * Offers services to the jobs (Azure clients, the archive store, the secret inventory). Each
 * reads its own settings and returns the services it can offer; providers must be cheap: SDKs
 * load lazily on first use, not here. The composition root (src/runtime.ts) lists them.
 */
export type ServiceProvider = (context: ProviderContext) => JobServices;

/** Builds the runner's dependencies from the settings and the given providers, in order. */
export function buildRuntime(providers: readonly ServiceProvider[], options: RuntimeOptions = {}): RunnerDeps {
  const env = options.env ?? process.env;
  const settings = readCoreSettings(env);
  const log = options.log ?? createLogger({ json: settings.logJson });
  const target = resolveTarget(settings, options.databaseUrl);
  const credential = options.credential ?? azureCredential(env);
  const services: JobServices = {};
  for (const provider of providers) Object.assign(services, provider({ env, log, credential, azureClient: options.azureClient ?? {} }));
  Object.assign(services, options.services);
  // Alerts for every finished run whenever a channel (Teams, e-mail, SMS) is configured.
  const notifyConfig = notifierConfigFromEnv(env, log, { environment: settings.environment, credential, ...(options.now ? { now: options.now } : {}) });
  const notifier = notifyConfig ? createNotifier(notifyConfig) : undefined;
  // Jobs that must alert before they finish (failover-check) send through the same configuration.
  if (notifyConfig && !services.notify) services.notify = createNotifyService(notifyConfig);
  return {
    target,
    settings,
    env,
    log,
    credential,
    services,
    ...(options.now ? { now: options.now } : {}),
    afterRun: notifier ? [notifier] : [],
    ...(notifyConfig ? { reachability: createReachabilityNotifier(notifyConfig) } : {}),
  };
}
