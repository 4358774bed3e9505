import type { JobManifest } from '../../shared/job.js';

/** What the Function App needs to register this job without loading it: name, purpose, schedules. */
export const manifest: JobManifest = {
  name: 'failover-check',
  title: 'Failover check',
  description:
    'On a Resource Health alert, a restart/promote event or a state change seen by its poll: alerts at once, probes until the primary accepts writes, records the downtime, zones and replica state against the plan (RTO 2 min), and sends the resolution. Also the region failover runbook (promote-replica, switchover) and the failover drill.',
  schedules: [
    { setting: 'DBOPS_SCHEDULE_FAILOVER_CHECK', default: '0 */2 * * * *', description: 'safety-net poll of the server state (every 2 minutes)', params: { source: 'timer' } },
  ],
};
