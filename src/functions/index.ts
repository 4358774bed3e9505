import functions from '@azure/functions';
import { manifests } from '../jobs/manifests.js';
import { memoizeUntilRejected } from '../shared/async.js';
import { resolveSchedule } from '../shared/schedule.js';

// From native ESM the package is imported through its default export.
const { app } = functions;

/**
 * A handler whose module loads on its first invocation. Registration then needs only the
 * manifests and the schedules: a cold start pays for no job, database driver, Azure SDK or
 * page renderer it does not use (`npm run bench -- coldstart`).
 */
function lazy<A extends unknown[], R>(load: () => Promise<(...args: A) => Promise<R>>): (...args: A) => Promise<R> {
  const handler = memoizeUntilRejected(load);
  return async (...args) => (await handler())(...args);
}

const runtime = async () => (await import('./runtime.js')).processRuntime();

/**
 * Registers every function. Schedules are validated here, at start-up: a wrong NCRONTAB
 * setting fails the host's start with a message naming the setting, not the first tick.
 */
export function registerFunctions(env = process.env): string[] {
  const names: string[] = [];
  for (const job of manifests) {
    job.schedules.forEach((schedule, i) => {
      const name = `timer-${job.name}${job.schedules.length > 1 ? `-${i + 1}` : ''}`;
      const handler = lazy(async () => (await import('./timers.js')).timerHandler(job, schedule, runtime));
      app.timer(name, { schedule: resolveSchedule(schedule, env), handler, runOnStartup: false });
      names.push(name);
    });
  }
  app.http('maintenance', { methods: ['POST'], authLevel: 'function', route: 'maintenance/{job}', handler: lazy(async () => (await import('./http-maintenance.js')).maintenanceHandler(runtime)) });
  app.http('maintenanceRuns', { methods: ['GET'], authLevel: 'function', route: 'maintenance/runs', handler: lazy(async () => (await import('./http-runs.js')).listRunsHandler(runtime)) });
  app.http('maintenanceRun', { methods: ['GET'], authLevel: 'function', route: 'maintenance/runs/{id:int}', handler: lazy(async () => (await import('./http-runs.js')).getRunHandler(runtime)) });
  app.http('console', { methods: ['GET'], authLevel: 'function', route: 'console', handler: lazy(async () => (await import('./http-console.js')).consoleHandler(runtime)) });
  app.http('alertsResourceHealth', { methods: ['POST'], authLevel: 'function', route: 'alerts/resource-health', handler: lazy(async () => (await import('./events.js')).alertHandler(runtime)) });
  // Two subscriptions deliver here (Bicep): the resource group's actions and Key Vault's secrets.
  app.eventGrid('failoverEvents', { handler: lazy(async () => (await import('./events.js')).eventGridHandler(runtime)) });
  app.eventGrid('keyVaultEvents', { handler: lazy(async () => (await import('./events.js')).eventGridHandler(runtime)) });
  app.http('health', { methods: ['GET'], authLevel: 'anonymous', route: 'health', handler: lazy(async () => (await import('./http-health.js')).healthHandler(runtime)) });
  names.push('maintenance', 'maintenanceRuns', 'maintenanceRun', 'console', 'alertsResourceHealth', 'failoverEvents', 'keyVaultEvents', 'health');
  return names;
}

registerFunctions();
