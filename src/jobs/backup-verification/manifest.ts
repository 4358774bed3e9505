import type { JobManifest, Schedule } from '../../shared/job.js';

export const JOB = 'backup-verification';
export const dailySchedule: Schedule = {
  setting: 'DBOPS_SCHEDULE_BACKUP_VERIFICATION',
  default: '0 0 19 * * *',
  description: 'daily backup check (04:00 KST, after the 02:00-04:00 KST backup window): newest backup, restore window, retention, geo-redundancy',
  params: { mode: 'daily' },
};

/** What the Function App needs to register this job without loading it: name, purpose, schedules. */
export const manifest: JobManifest = {
  name: JOB,
  title: 'Backup verification',
  description:
    'Daily: the newest automatic backup, the restore window, retention and geo-redundancy. Weekly: a point-in-time restore into a temporary server, advanced one step per tick, verified against production (schema, row counts, RPO, amcheck, checksums), then deleted.',
  schedules: [
    dailySchedule,
    {
      setting: 'DBOPS_SCHEDULE_BACKUP_RESTORE_TEST',
      default: '0 */10 * * * *',
      description: 'restore-test reconciler tick: advances the weekly restore test one step; a new test starts after DBOPS_BACKUP_RESTORE_TEST_START',
      params: { mode: 'reconcile' },
    },
  ],
};
