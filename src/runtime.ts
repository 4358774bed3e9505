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

export const providers: readonly ServiceProvider[] = [azureServiceProvider, partitionArchiveProvider, secretInventoryProvider];

export { buildRuntime, type RuntimeOptions, type ServiceProvider };
