import type { JobManifest } from '../shared/job.js';
import { manifest as backupVerification } from './backup-verification/manifest.js';
import { manifest as costCheck } from './cost-check/manifest.js';
import { manifest as failoverCheck } from './failover-check/manifest.js';
import { manifest as healthCheck } from './health-check/manifest.js';
import { manifest as installVerification } from './install-verification.manifest.js';
import { manifest as partitionMaintenance } from './partition-maintenance/manifest.js';
import { manifest as passwordRotation } from './password-rotation/manifest.js';
import { manifest as securityAudit } from './security-audit/manifest.js';
import { manifest as statsRefresh } from './stats-refresh/manifest.js';
import { manifest as versionUpgrade } from './version-upgrade/manifest.js';

/**
 * Every job's name, purpose and schedules, without its code: the Function App registers its
 * functions from these and loads the jobs on the first invocation, so a cold start does not
 * pay for code it may not run. Same order as the registry (src/jobs/index.ts; a test checks).
 */
export const manifests: readonly JobManifest[] = [
  installVerification,
  healthCheck,
  securityAudit,
  statsRefresh,
  partitionMaintenance,
  costCheck,
  failoverCheck,
  backupVerification,
  passwordRotation,
  versionUpgrade,
];

export const manifestNames = (): string[] => manifests.map((m) => m.name);
