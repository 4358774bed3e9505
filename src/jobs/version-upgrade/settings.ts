import { int, setting, type SettingsOf } from '../../platform/settings.js';
import { restoredCopySettings } from '../../shared/restore-servers-settings.js';

export const versionUpgradeSettings = {
  rehearsalMaxAgeDays: setting({
    env: 'DBOPS_UPGRADE_REHEARSAL_MAX_AGE_DAYS',
    doc: 'plan=upgrade runs only after a successful rehearsal of the same target version that finished within this many days.',
    default: '14',
    schema: int(1, 90),
  }),
  deadlineMinutes: setting({
    env: 'DBOPS_UPGRADE_DEADLINE_MINUTES',
    doc: 'A rehearsal not verified this long after it started fails and its copy is deleted; an upgrade past it is reported critical (it is never abandoned).',
    default: '480',
    schema: int(30, 48 * 60),
  }),
  minFreeStoragePercent: setting({
    env: 'DBOPS_UPGRADE_MIN_FREE_STORAGE_PERCENT',
    doc: 'Free storage the upgrade needs on the server, percent of its provisioned size (Microsoft advises keeping 10 to 20 % free).',
    default: '15',
    schema: int(1, 90),
  }),
  longTransactionSeconds: setting({
    env: 'DBOPS_UPGRADE_LONG_TRANSACTION_SECONDS',
    doc: 'Transactions open longer than this are reported by the pre-check: they delay the upgrade and lengthen its downtime.',
    default: '300',
    schema: int(1, 86_400),
  }),
  // The rehearsal's copy is reached and its restore verified like backup-verification's restored copies.
  ...restoredCopySettings,
};

export type VersionUpgradeSettings = SettingsOf<typeof versionUpgradeSettings>;
