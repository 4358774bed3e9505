import type { JobManifest } from '../../shared/job.js';

/** What the Function App needs to register this job without loading it: name, purpose, schedules. */
export const manifest: JobManifest = {
  name: 'stats-refresh',
  title: 'Statistics refresh and index / slow-query report',
  description:
    'ANALYZEs only the tables whose statistics are stale (and partitioned parents, which autovacuum never analyzes); reports unused, duplicate and invalid indexes, heavy sequential scans, estimated bloat and the slowest queries (plan 8.1.2, 8.3.1).',
  schedules: [
    {
      setting: 'DBOPS_SCHEDULE_STATS_REFRESH',
      default: '0 30 18 * * *',
      description: 'daily at 03:30 KST (18:30 UTC), off-peak',
    },
  ],
};
