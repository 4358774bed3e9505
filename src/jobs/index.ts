import { registerJob, type RegisteredJob } from '../shared/job.js';
import { backupVerification } from './backup-verification/index.js';
import { costCheck } from './cost-check/index.js';
import { failoverCheck } from './failover-check/index.js';
import { healthCheck } from './health-check/index.js';
import { installVerification } from './install-verification.js';
import { partitionMaintenance } from './partition-maintenance/index.js';
import { passwordRotation } from './password-rotation/index.js';
import { securityAudit } from './security-audit/index.js';
import { statsRefresh } from './stats-refresh/index.js';
import { versionUpgrade } from './version-upgrade/index.js';

/**
 * Every job dbops knows, in the order the demo runs them. Adding a job: write its manifest
 * (name, purpose, schedules) and its definition (src/jobs/<name>/), then add one line here and
 * one in manifests.ts; the CLI, timers, HTTP API and docs pick it up.
 */
export const jobs: readonly RegisteredJob[] = [
  registerJob(installVerification),
  registerJob(healthCheck),
  registerJob(securityAudit),
  registerJob(statsRefresh),
  registerJob(partitionMaintenance),
  registerJob(costCheck),
  registerJob(failoverCheck),
  registerJob(backupVerification),
  registerJob(passwordRotation),
  registerJob(versionUpgrade),
];

export function findJob(name: string): RegisteredJob | undefined {
  return jobs.find((j) => j.name === name);
}

export const jobNames = (): string[] => jobs.map((j) => j.name);
