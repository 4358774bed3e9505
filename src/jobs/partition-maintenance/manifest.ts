import type { JobManifest } from '../../shared/job.js';

/** What the Function App needs to register this job without loading it: name, purpose, schedules. */
export const manifest: JobManifest = {
  name: 'partition-maintenance',
  title: 'Partition maintenance',
  description:
    'Keeps monthly partitions ready ahead (created standalone, then attached) and detaches (CONCURRENTLY) and drops those past retention (12 months, plan 8.3.1), optionally archiving them to Blob Storage first; resumes what a crash left half done.',
  schedules: [
    {
      setting: 'DBOPS_SCHEDULE_PARTITION_MAINTENANCE',
      default: '0 0 18 1 * *',
      description: 'monthly maintenance, the 1st at 03:00 KST: premake, retention, archive (plan 8.3.1)',
    },
    {
      setting: 'DBOPS_SCHEDULE_PARTITION_PREMAKE',
      default: '0 0 20 * * *',
      description: 'daily premake check at 05:00 KST, after the backup window: future partitions only',
      params: { mode: 'premake' },
    },
  ],
};
