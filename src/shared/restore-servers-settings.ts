import { bool, int, optionalString, setting, type SettingsOf } from '../platform/settings.js';

/**
 * How dbops reaches a restored copy and what it holds the copy to: backup-verification declares
 * these as its own, and version-upgrade's rehearsal reaches and verifies its copy by the same.
 */
export const restoredCopySettings = {
  rpoMinutes: setting({
    env: 'DBOPS_RPO_MINUTES',
    doc: 'Recovery point objective, minutes: the most data a restore may lose.',
    default: '60',
    plan: '5.2.1',
    schema: int(1, 24 * 60),
  }),
  restorePointLagMinutes: setting({
    env: 'DBOPS_BACKUP_RESTORE_POINT_LAG_MINUTES',
    doc: 'The restore test restores to this many minutes before it starts (transaction logs are backed up every 5 minutes, plan 5.1.2).',
    default: '10',
    schema: int(0, 24 * 60),
  }),
  verifyMarginMinutes: setting({
    env: 'DBOPS_BACKUP_VERIFY_MARGIN_MINUTES',
    doc: 'Rows created in this window before the restore point are left out of the row-count comparison: transactions in flight at the restore point commit after it.',
    default: '5',
    schema: int(0, 24 * 60),
  }),
  rowCountTolerance: setting({
    env: 'DBOPS_BACKUP_ROW_COUNT_TOLERANCE',
    doc: 'Rows a restored table may lack against production (same predicate) before the test fails.',
    default: '0',
    schema: int(0, 1_000_000),
  }),
  sampleRows: setting({
    env: 'DBOPS_BACKUP_SAMPLE_ROWS',
    doc: 'Rows per table compared by checksum between the restored copy and production (half the newest, half the oldest before the restore point).',
    default: '200',
    schema: int(0, 100_000),
  }),
  passwordSecret: setting({
    env: 'DBOPS_BACKUP_RESTORE_PASSWORD_SECRET',
    doc: "Key Vault secret holding the password of DATABASE_URL's user, when the password to use on the restored server is kept there (a restored server has the source's roles and passwords). Unset: DATABASE_URL's own password; DBOPS_PG_AUTH=entra needs none.",
    example: 'pg-dbops-password',
    schema: optionalString(),
  }),
  emulatorTags: setting({
    env: 'DBOPS_BACKUP_TEST_EMULATOR_TAGS',
    doc: "TEST ONLY: reach a restored server at the port and database its emulator-port / emulator-database tags name (the local Azure emulator's real copies). Never set in Azure.",
    default: 'false',
    schema: bool(),
  }),
};

export type RestoredCopySettings = SettingsOf<typeof restoredCopySettings>;
