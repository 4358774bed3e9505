import { z } from 'zod';
import { bool, int, num, setting, type SettingsOf } from '../../platform/settings.js';
import { restoredCopySettings } from '../../shared/restore-servers-settings.js';
import { parseNcrontab } from '../../shared/schedule.js';

const ncrontab = (name: string) =>
  z.string().superRefine((value, ctx) => {
    try {
      parseNcrontab(value, name);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  });

// The restored copy's thresholds and how it is reached are shared with version-upgrade's rehearsal.
export const backupVerificationSettings = {
  maxAgeHours: setting({
    env: 'DBOPS_BACKUP_MAX_AGE_HOURS',
    doc: 'The newest automatic backup must be younger than this (full backups run daily).',
    default: '26',
    plan: '5.1.2',
    schema: int(1, 24 * 14),
  }),
  retentionDays: setting({
    env: 'DBOPS_BACKUP_RETENTION_DAYS',
    doc: "The server's backup retention, and how far back its earliest restore point must reach.",
    default: '35',
    plan: '5.1.1',
    schema: int(7, 35),
  }),
  retentionToleranceHours: setting({
    env: 'DBOPS_BACKUP_RETENTION_TOLERANCE_HOURS',
    doc: 'How much younger than the retention the earliest restore point may be before it is reported (backups age out a day at a time).',
    default: '24',
    schema: int(0, 24 * 7),
  }),
  geoRedundant: setting({
    env: 'DBOPS_BACKUP_GEO_REDUNDANT',
    doc: 'Whether the server must keep geo-redundant backups (Korea South).',
    default: 'true',
    plan: '5.1.1',
    schema: bool(),
  }),
  rtoMinutes: setting({
    env: 'DBOPS_RTO_MINUTES',
    doc: 'Recovery time objective for a regional outage, minutes; reported beside the measured restore time for comparison.',
    default: '30',
    plan: '5.2.1',
    schema: int(1, 24 * 60),
  }),
  rpoMinutes: restoredCopySettings.rpoMinutes,
  pitrRtoMinutes: setting({
    env: 'DBOPS_PITR_RTO_MINUTES',
    doc: 'Recovery time objective of a point-in-time restore (data corruption), minutes: the weekly restore test must restore and verify within it.',
    default: '240',
    plan: '5.2.2',
    schema: int(1, 7 * 24 * 60),
  }),
  restoreTestStart: setting({
    env: 'DBOPS_BACKUP_RESTORE_TEST_START',
    doc: 'When a new weekly restore test becomes due (six-field NCRONTAB, UTC); the next reconciler tick after it starts one. Default: Saturday 20:00 UTC (Sunday 05:00 KST), after the backup window.',
    default: '0 0 20 * * 6',
    schema: ncrontab('DBOPS_BACKUP_RESTORE_TEST_START'),
  }),
  restoreDeadlineMinutes: setting({
    env: 'DBOPS_BACKUP_RESTORE_TEST_DEADLINE_MINUTES',
    doc: 'A restore test not verified this long after it started fails, and its temporary server is deleted (a restore has been seen to hang for about 20 hours).',
    default: '360',
    schema: int(30, 48 * 60),
  }),
  restorePointLagMinutes: restoredCopySettings.restorePointLagMinutes,
  verifyMarginMinutes: restoredCopySettings.verifyMarginMinutes,
  rowCountTolerance: restoredCopySettings.rowCountTolerance,
  sampleRows: restoredCopySettings.sampleRows,
  hourlyCostUsd: setting({
    env: 'DBOPS_BACKUP_RESTORE_HOURLY_COST_USD',
    doc: "Hourly cost of the temporary server (USD), for the report's estimate. Default: the plan's primary ($820/month with HA, plan 9.1.1) halved, as a restored server has no HA, over 730 hours.",
    default: '0.56',
    schema: num(0, 1000),
  }),
  passwordSecret: restoredCopySettings.passwordSecret,
  emulatorTags: restoredCopySettings.emulatorTags,
};

export type BackupVerificationSettings = SettingsOf<typeof backupVerificationSettings>;
