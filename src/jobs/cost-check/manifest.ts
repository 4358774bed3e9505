import type { JobManifest } from '../../shared/job.js';

/** What the Function App needs to register this job without loading it: name, purpose, schedules. */
export const manifest: JobManifest = {
  name: 'cost-check',
  title: 'Cost check',
  description:
    'Month-to-date cost, projected month-end (complete days only) and last month from Cost Management, against the budget (plan 9.2.1: $1,600, +20 %); per-component split, daily anomalies, new or vanished cost lines, restore-test servers and savings hints.',
  schedules: [{ setting: 'DBOPS_SCHEDULE_COST_CHECK', default: '0 0 1 * * *', description: 'daily cost check (10:00 KST, after the overnight usage data has landed)' }],
};
