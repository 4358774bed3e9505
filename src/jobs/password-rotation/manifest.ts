import type { JobManifest } from '../../shared/job.js';

/** What the Function App needs to register this job without loading it: name, purpose, schedules. */
export const manifest: JobManifest = {
  name: 'password-rotation',
  title: 'Password rotation',
  description:
    'Rotates the managed roles\' passwords through Key Vault (plan 4.3.2): generate, stage as a pending version, set a SCRAM-SHA-256 verifier, sign in with it, mark it current with a 90-day expiry; an interrupted rotation is finished or rolled back by the next run.',
  schedules: [
    {
      setting: 'DBOPS_SCHEDULE_PASSWORD_ROTATION',
      default: '0 0 1 * * *',
      description: 'daily fallback: rotates any managed secret within DBOPS_ROTATION_WINDOW_DAYS of expiry, in case a SecretNearExpiry event was lost',
    },
  ],
};
