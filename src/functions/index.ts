import functions from '@azure/functions';
import { jobs } from '../jobs/index.js';
import { resolveSchedule } from '../shared/schedule.js';
import { alertHandler, eventGridHandler } from './events.js';
import { consoleHandler } from './http-console.js';
import { healthHandler } from './http-health.js';
import { maintenanceHandler } from './http-maintenance.js';
import { getRunHandler, listRunsHandler } from './http-runs.js';
import { processRuntime } from './runtime.js';
import { timerHandler } from './timers.js';

// From native ESM the package is imported through its default export.
const { app } = functions;

/**
 * Registers every function. Schedules are validated here, at start-up: a wrong NCRONTAB
 * setting fails the host's start with a message naming the setting, not the first tick.
 */
export function registerFunctions(env = process.env): string[] {
  const names: string[] = [];
  for (const job of jobs) {
    job.schedules.forEach((schedule, i) => {
      const name = `timer-${job.name}${job.schedules.length > 1 ? `-${i + 1}` : ''}`;
      app.timer(name, { schedule: resolveSchedule(schedule, env), handler: timerHandler(job, schedule, processRuntime), runOnStartup: false });
      names.push(name);
    });
  }
  app.http('maintenance', { methods: ['POST'], authLevel: 'function', route: 'maintenance/{job}', handler: maintenanceHandler(processRuntime) });
  app.http('maintenanceRuns', { methods: ['GET'], authLevel: 'function', route: 'maintenance/runs', handler: listRunsHandler(processRuntime) });
  app.http('maintenanceRun', { methods: ['GET'], authLevel: 'function', route: 'maintenance/runs/{id:int}', handler: getRunHandler(processRuntime) });
  app.http('console', { methods: ['GET'], authLevel: 'function', route: 'console', handler: consoleHandler(processRuntime) });
  app.http('alertsResourceHealth', { methods: ['POST'], authLevel: 'function', route: 'alerts/resource-health', handler: alertHandler(processRuntime) });
  // Two subscriptions deliver here (Bicep): the resource group's actions and Key Vault's secrets.
  app.eventGrid('failoverEvents', { handler: eventGridHandler(processRuntime) });
  app.eventGrid('keyVaultEvents', { handler: eventGridHandler(processRuntime) });
  app.http('health', { methods: ['GET'], authLevel: 'anonymous', route: 'health', handler: healthHandler(processRuntime) });
  names.push('maintenance', 'maintenanceRuns', 'maintenanceRun', 'console', 'alertsResourceHealth', 'failoverEvents', 'keyVaultEvents', 'health');
  return names;
}

registerFunctions();
