/**
 * The composition root: the service providers every runtime is built with, listed here and
 * nowhere else. The CLI, the Function App, the demo and the tests call
 * `buildRuntime(providers, options)`; nothing registers itself by being imported, so a new
 * service is a provider added to this list.
 */
import { azureServiceProvider } from './platform/azure/services.js';
import { buildRuntime, type RuntimeOptions, type ServiceProvider } from './shared/runner/runtime.js';
import { partitionArchiveProvider } from './jobs/partition-maintenance/archive.js';
import { secretInventoryProvider } from './jobs/password-rotation/inventory.js';
import type { JobRegistry } from './shared/verify/job-on-server.js';

/** The job registry for jobs that run another job's code (ctx.services.jobs), loaded on first use so a cold start does not pay for it. */
export const jobRegistry: JobRegistry = { find: async (name) => (await import('./jobs/index.js')).findJob(name) };
const jobRegistryProvider: ServiceProvider = () => ({ jobs: jobRegistry });

export const providers: readonly ServiceProvider[] = [azureServiceProvider, partitionArchiveProvider, secretInventoryProvider, jobRegistryProvider];

export { buildRuntime, type RuntimeOptions, type ServiceProvider };
