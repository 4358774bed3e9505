import type { JobManifest } from '../../shared/job.js';

export const JOB = 'version-upgrade';

/** Never on a timer: a major-version upgrade is asked for, rehearsed first, and confirmed by name. */
export const manifest: JobManifest = {
  name: JOB,
  title: 'Major-version upgrade',
  description:
    'PostgreSQL major-version upgrade in three plans: precheck (blockers and their remedies), rehearse (restore production to a temporary server, upgrade it, verify it, measure the downtime, delete it) and upgrade (production, confirmed by server name, only after a recent successful rehearsal).',
  schedules: [],
};
