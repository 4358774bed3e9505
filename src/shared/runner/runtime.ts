import { readCoreSettings } from '../config.js';
import { resolveTarget } from '../db/connection.js';
import type { JobServices } from '../job.js';
import { createLogger, type Logger } from '../log.js';
import { createNotifier, createReachabilityNotifier, createNotifyService, notifierConfigFromEnv, NOTIFY_SERVICE } from '../notify/notifier.js';
import type { Env } from '../settings.js';
import type { RunnerDeps } from './run-job.js';

export interface RuntimeOptions {
  env?: Env;
  /** Overrides DATABASE_URL (the CLI's --database-url). */
  databaseUrl?: string;
  log?: Logger;
  now?: () => Date;
  /** Extra or replacement services (tests inject emulator-backed clients here). */
  services?: JobServices;
}

/**
 * Services are added by the modules that provide them (Azure clients, notifications). Each
 * provider reads its own settings and returns the services it can offer; providers must be
 * cheap: SDKs load lazily on first use, not here.
 */
export type ServiceProvider = (env: Env, log: Logger) => JobServices;
const providers: ServiceProvider[] = [];

export function addServiceProvider(provider: ServiceProvider): void {
  providers.push(provider);
}

/** The composition root shared by the CLI, the Function App and tests. */
export function createRuntime(options: RuntimeOptions = {}): RunnerDeps {
  const env = options.env ?? process.env;
  const settings = readCoreSettings(env);
  const log = options.log ?? createLogger({ json: settings.logJson });
  const target = resolveTarget(settings, options.databaseUrl);
  const services: JobServices = {};
  for (const provider of providers) Object.assign(services, provider(env, log));
  Object.assign(services, options.services);
  // Alerts for every finished run whenever a channel (Teams, e-mail, SMS) is configured.
  const notifyConfig = notifierConfigFromEnv(env, log, { environment: settings.environment, ...(options.now ? { now: options.now } : {}) });
  const notifier = notifyConfig ? createNotifier(notifyConfig) : undefined;
  // Jobs that must alert before they finish (failover-check) send through the same configuration.
  if (notifyConfig && !services[NOTIFY_SERVICE]) services[NOTIFY_SERVICE] = createNotifyService(notifyConfig);
  return {
    target,
    settings,
    env,
    log,
    services,
    ...(options.now ? { now: options.now } : {}),
    afterRun: notifier ? [notifier] : [],
    ...(notifyConfig ? { reachability: createReachabilityNotifier(notifyConfig) } : {}),
  };
}
