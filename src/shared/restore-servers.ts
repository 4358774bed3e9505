/**
 * How backup-verification marks its temporary restore servers, so the cost check finds their
 * cost and the orphan sweep finds the servers: both read these, neither guesses.
 */
export const RESTORE_TAGS = {
  purpose: 'purpose',
  createdBy: 'created-by',
  expiresAt: 'expires-at',
  source: 'source-server',
  attempt: 'restore-test-attempt',
} as const;
export const RESTORE_PURPOSE = 'dbops-restore-test';
export const RESTORE_CREATED_BY = 'dbops backup-verification';

/** Name prefix of a source server's restore-test servers: `<source>-rt-<yyyymmddhhmm>-<attempt>`. */
export function restoreServerPrefix(source: string): string {
  return `${source.toLowerCase().replace(/[^a-z0-9-]/g, '-')}-rt-`;
}
