import type { JobManifest } from '../../shared/job.js';

/** What the Function App needs to register this job without loading it: name, purpose, schedules. */
export const manifest: JobManifest = {
  name: 'health-check',
  title: 'Health check',
  description:
    "The plan's daily checklist and alert thresholds: connections, sessions, locks, deadlocks, cache hit, TPS, statement time, wraparound, sequences, invalid indexes, replication, platform metrics and business success rates; a snapshot per run in ops.health_snapshot.",
  schedules: [
    {
      setting: 'DBOPS_SCHEDULE_HEALTH_CHECK',
      default: '0 */5 * * * *',
      description: 'probe every 5 minutes; its summary says what changed since the previous check (alerts only on changes)',
      params: { mode: 'probe' },
    },
    {
      setting: 'DBOPS_SCHEDULE_HEALTH_CHECK_DAILY',
      default: '0 0 0 * * *',
      description: 'the full daily checklist (plan 8.1.1), 09:00 KST',
      params: { mode: 'daily' },
    },
  ],
};
