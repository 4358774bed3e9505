import type { RegisteredJob } from '../shared/job.js';

type Registry = typeof import('../jobs/index.js');
let registry: Promise<Registry> | undefined;

/**
 * The job registry, imported on the first invocation that needs a job rather than at start-up:
 * functions register from the manifests alone (src/jobs/manifests.ts).
 */
export async function loadJob(name: string): Promise<RegisteredJob | undefined> {
  registry ??= import('../jobs/index.js');
  return (await registry).findJob(name);
}
