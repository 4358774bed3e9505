import type { JobManifest } from '../../shared/job.js';

/** What the Function App needs to register this job without loading it: name, purpose, schedules. */
export const manifest: JobManifest = {
  name: 'security-audit',
  title: 'Security audit',
  description:
    'Failed logins (opt-in lockout of personal roles), privilege drift against the plan, permission changes, access from outside the allowed subnets and the connection rate (daily); login roles, Key Vault secrets, TLS settings, the server certificate and the support dates of the PostgreSQL major (weekly).',
  schedules: [
    { setting: 'DBOPS_SCHEDULE_SECURITY_AUDIT', default: '0 15 0 * * *', description: 'daily security audit (09:15 KST): server log since the last run, privilege drift', params: { mode: 'daily' } },
    {
      setting: 'DBOPS_SCHEDULE_SECURITY_ACCOUNT_REVIEW',
      default: '0 30 0 * * 1',
      description: 'weekly account review (Mondays 09:30 KST): login roles, Key Vault secrets, TLS and certificate expiry, PostgreSQL support dates',
      params: { mode: 'weekly' },
    },
  ],
};
