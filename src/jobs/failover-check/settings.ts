import { int, optionalString, setting } from '../../platform/settings.js';

/** The plan's recovery targets (5.2.1, 5.2.2) and how the failover check measures against them. */
export const failoverSettings = {
  failoverRtoSeconds: setting({
    env: 'DBOPS_FAILOVER_RTO_SECONDS',
    doc: 'Longest acceptable downtime of an automatic zone failover (signal to writable again); a longer one is critical.',
    default: '120',
    plan: '5.2.2',
    schema: int(10, 3600),
  }),
  rtoMinutes: setting({
    env: 'DBOPS_RTO_MINUTES',
    doc: 'Recovery time objective of a region failover (replica promotion); the promote runbook reports against it.',
    default: '30',
    plan: '5.2.1',
    schema: int(1, 1440),
  }),
  rpoMinutes: setting({
    env: 'DBOPS_RPO_MINUTES',
    doc: 'Recovery point objective of a region failover: the replica lag above which promoting it loses more data than the plan allows.',
    default: '60',
    plan: '5.2.1',
    schema: int(1, 1440),
  }),
  replicaLagWarningSeconds: setting({
    env: 'DBOPS_REPLICA_LAG_WARNING_SECONDS',
    doc: 'Replica lag above which the replica is reported as behind.',
    default: '60',
    plan: '2.2.3',
    schema: int(1, 86_400),
  }),
  probeTimeoutSeconds: setting({
    env: 'DBOPS_FAILOVER_PROBE_TIMEOUT_SECONDS',
    doc: 'How long the writable probe keeps reconnecting (with back-off) before it reports the primary still not writable; the next timer run carries on measuring.',
    default: '300',
    schema: int(5, 3600),
  }),
  probeMaxDelaySeconds: setting({
    env: 'DBOPS_FAILOVER_PROBE_MAX_DELAY_SECONDS',
    doc: 'Longest pause between two writable-probe attempts (the back-off starts at 0.5 s and doubles up to this).',
    default: '5',
    schema: int(1, 60),
  }),
  probeUrl: setting({
    env: 'DBOPS_FAILOVER_PROBE_URL',
    doc: 'Connection URL the writable probe uses, e.g. the host name the application connects to; unset probes the dbops database connection.',
    example: 'postgres://dbops@phonebill-postgresql-prod.postgres.database.azure.com:5432/product_change_db?sslmode=require',
    secret: true,
    schema: optionalString(),
  }),
  haHealthyMinutes: setting({
    env: 'DBOPS_FAILOVER_HA_HEALTHY_MINUTES',
    doc: 'Minutes after a failover within which zone-redundant HA must be Healthy again (the new standby rebuilt); later it is critical.',
    default: '30',
    schema: int(1, 1440),
  }),
};
