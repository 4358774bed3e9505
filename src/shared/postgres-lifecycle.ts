import { z } from 'zod';
import { setting } from '../platform/settings.js';
import type { Queryable } from '../platform/db/sql.js';
import type { Finding, Severity } from './job.js';

/**
 * Support dates of every PostgreSQL major Azure Database for PostgreSQL flexible server has run,
 * as published (checked 2026-12-02):
 * - Azure standard support start and end, paid extended support start and end: Azure's version
 *   policy https://learn.microsoft.com/azure/postgresql/configure-maintain/concepts-version-policy
 *   and extended-support page https://learn.microsoft.com/azure/postgresql/configure-maintain/extended-support
 *   (extended support is charged from the day after standard support ends and ends only with a
 *   major-version upgrade; 15 to 18 have no extended-support dates published yet).
 * - Community end of life (the last minor release): https://www.postgresql.org/support/versioning/
 * Dates are calendar days; "ends on D" means supported through D (UTC).
 */
export interface MajorVersionSupport {
  major: number;
  azureStandardStart: string;
  azureStandardEnd: string;
  communityEol: string;
  extendedSupportStart: string | null;
  extendedSupportEnd: string | null;
}

export const POSTGRES_SUPPORT: readonly MajorVersionSupport[] = [
  { major: 11, azureStandardStart: '2019-07-24', azureStandardEnd: '2026-07-31', communityEol: '2023-11-09', extendedSupportStart: '2026-08-01', extendedSupportEnd: '2026-11-08' },
  { major: 12, azureStandardStart: '2020-09-22', azureStandardEnd: '2026-07-31', communityEol: '2024-11-14', extendedSupportStart: '2026-08-01', extendedSupportEnd: '2027-11-13' },
  { major: 13, azureStandardStart: '2021-05-25', azureStandardEnd: '2026-07-31', communityEol: '2025-11-13', extendedSupportStart: '2026-08-01', extendedSupportEnd: '2028-11-12' },
  { major: 14, azureStandardStart: '2022-06-29', azureStandardEnd: '2026-12-11', communityEol: '2026-11-12', extendedSupportStart: '2026-12-12', extendedSupportEnd: '2029-11-11' },
  { major: 15, azureStandardStart: '2023-05-15', azureStandardEnd: '2027-11-11', communityEol: '2027-11-11', extendedSupportStart: null, extendedSupportEnd: null },
  { major: 16, azureStandardStart: '2023-10-15', azureStandardEnd: '2028-11-09', communityEol: '2028-11-09', extendedSupportStart: null, extendedSupportEnd: null },
  { major: 17, azureStandardStart: '2024-09-30', azureStandardEnd: '2029-11-08', communityEol: '2029-11-08', extendedSupportStart: null, extendedSupportEnd: null },
  { major: 18, azureStandardStart: '2025-09-25', azureStandardEnd: '2030-11-14', communityEol: '2030-11-14', extendedSupportStart: null, extendedSupportEnd: null },
];

/** The majors a new server or an upgrade may target (Azure offers 14 to 18 for new servers). */
export const UPGRADE_TARGETS = [15, 16, 17, 18] as const;
export const SUPPORTED_MAJORS = [14, ...UPGRADE_TARGETS] as const;
/** Days before the end of standard support from which the finding is a warning. */
export const SUPPORT_WARNING_DAYS = 180;

const DAY = 86_400_000;
const dayAfter = (date: string) => new Date(Date.parse(`${date}T00:00:00Z`) + DAY);

export function supportOf(major: number): MajorVersionSupport | undefined {
  return POSTGRES_SUPPORT.find((v) => v.major === major);
}

/**
 * What dbops proposes to upgrade to: 17, in standard support until November 2029, with every
 * extension the plan uses (pg_stat_statements, pg_partman) on Azure; 18 is allowed as a target.
 */
export const DEFAULT_UPGRADE_TARGET = 17;

export type SupportPhase = 'standard' | 'ending' | 'extended' | 'unknown';

export interface SupportStatus {
  major: number;
  phase: SupportPhase;
  severity: Severity;
  /** Whole days until standard support ends (negative once it has). */
  daysLeft: number | null;
  dates: MajorVersionSupport | null;
}

/** Where `major` stands at `now`: warning from 180 days before the end of standard support, critical after it. */
export function supportStatus(major: number, now: Date): SupportStatus {
  const dates = supportOf(major) ?? null;
  if (!dates) return { major, phase: 'unknown', severity: 'warning', daysLeft: null, dates: null };
  const end = dayAfter(dates.azureStandardEnd);
  const daysLeft = Math.ceil((end.getTime() - now.getTime()) / DAY);
  if (now >= end) return { major, phase: 'extended', severity: 'critical', daysLeft, dates };
  if (now.getTime() >= end.getTime() - SUPPORT_WARNING_DAYS * DAY) return { major, phase: 'ending', severity: 'warning', daysLeft, dates };
  return { major, phase: 'standard', severity: 'info', daysLeft, dates };
}

export const versionSupportSettings = {
  versionSupportSeverity: setting({
    env: 'DBOPS_VERSION_SUPPORT_SEVERITY',
    doc:
      "How the server's PostgreSQL support dates are judged: \"dated\" (a warning from 180 days before Azure's standard support ends, critical after it: production), \"info\" (dates reported, never alarmed: a laptop or CI server Azure's policy does not govern), \"auto\" (dated on an Azure server, recognised by its azure.extensions parameter, info elsewhere).",
    default: 'auto',
    schema: z.enum(['auto', 'dated', 'info'], { message: 'expected "auto", "dated" or "info"' }),
  }),
};
export type VersionSupportMode = 'auto' | 'dated' | 'info';

export interface ServerVersion {
  major: number;
  /** e.g. "14.19" */
  version: string;
  /** An Azure flexible server (it has the azure.extensions parameter). */
  azure: boolean;
}

export async function readServerVersion(db: Queryable): Promise<ServerVersion> {
  const { rows } = await db.query<{ num: string; version: string; azure: string | null }>(
    `SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS version, current_setting('azure.extensions', true) AS azure`,
  );
  const r = rows[0]!;
  return { major: Math.floor(Number(r.num) / 10_000), version: r.version.split(' ')[0] ?? r.version, azure: r.azure !== null };
}

const long = (d: string) => new Date(`${d}T00:00:00Z`).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

/** The finding both install-verification and the weekly security review report. */
export function versionSupportFinding(server: ServerVersion, now: Date, mode: VersionSupportMode): Finding {
  const status = supportStatus(server.major, now);
  const judged = mode === 'dated' || (mode === 'auto' && server.azure);
  const severity: Severity = judged ? status.severity : 'info';
  const target = `PostgreSQL ${server.major}`;
  const upgrade = `dbops run version-upgrade --param plan=rehearse --param target=${DEFAULT_UPGRADE_TARGET}`;
  const d = status.dates;
  if (!d) {
    return {
      check: 'version.support',
      severity,
      target,
      value: server.version,
      message: `PostgreSQL ${server.version}: major ${server.major} is not in dbops's support table (Azure offers 14 to 18); check Azure's version policy and update src/shared/postgres-lifecycle.ts`,
    };
  }
  const dates = `Azure standard support ends ${long(d.azureStandardEnd)}, community end of life ${long(d.communityEol)}`;
  const extended = d.extendedSupportStart ? `; paid extended support from ${long(d.extendedSupportStart)}${d.extendedSupportEnd ? ` to ${long(d.extendedSupportEnd)}` : ''}` : '';
  const scope = judged ? '' : ' (not an Azure server: dates reported, not judged)';
  const message =
    status.phase === 'extended'
      ? `PostgreSQL ${server.version}: Azure standard support ended ${long(d.azureStandardEnd)}; the server is in paid extended support${d.extendedSupportEnd ? ` until ${long(d.extendedSupportEnd)}` : ''}, which only a major-version upgrade ends; community end of life ${long(d.communityEol)}${scope}`
      : status.phase === 'ending'
        ? `PostgreSQL ${server.version}: ${dates} (${status.daysLeft} days left)${extended}: rehearse and schedule the major-version upgrade${scope}`
        : `PostgreSQL ${server.version}: ${dates} (${status.daysLeft} days left)${extended}${scope}`;
  return {
    check: 'version.support',
    severity,
    target,
    value: server.major,
    threshold: d.azureStandardEnd,
    message,
    ...(status.phase === 'standard' ? {} : { remedy: upgrade }),
    details: { version: server.version, phase: status.phase, daysLeft: status.daysLeft, judged, ...d },
  };
}

export async function checkVersionSupport(db: Queryable, now: Date, mode: VersionSupportMode): Promise<Finding[]> {
  return [versionSupportFinding(await readServerVersion(db), now, mode)];
}
