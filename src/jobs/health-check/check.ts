import type { CoreSettings } from '../../shared/config.js';
import type { Queryable } from '../../platform/db/sql.js';
import type { WithServer } from '../../platform/db/session.js';
import type { Finding, JobServices, Severity } from '../../shared/job.js';
import type { Logger } from '../../platform/log.js';
import type { HealthCheckSettings } from './settings.js';
import type { Counters, SnapshotHistory } from './snapshot.js';

export type Metrics = Record<string, number | null>;

export interface CheckResult {
  findings: Finding[];
  /** Values for the snapshot, keyed "<check>.<measure>". */
  metrics?: Metrics;
  /** Cumulative counters the next run computes deltas from. */
  counters?: Partial<Counters>;
}

export interface CheckContext {
  /** A session whose statements each carry the per-check statement_timeout. */
  db: Queryable;
  now: Date;
  settings: HealthCheckSettings;
  core: CoreSettings;
  schema: string;
  windowHours: number;
  history: SnapshotHistory;
  services: JobServices;
  /** Connections to other servers (the replica), from the job's context. */
  withServer: WithServer;
  log: Logger;
  /** Counters gathered by earlier checks in this run. */
  counters: Partial<Counters>;
  /** Set by the caller: the application_name of the job's own sessions, left out of session checks. */
  ownApplication: string;
}

export interface HealthCheck {
  name: string;
  /** Only the full daily checklist runs it (slow-changing things). */
  dailyOnly?: boolean;
  run(c: CheckContext): Promise<CheckResult>;
}

/** Severity of a value that is bad when high: critical above `critical`, warning above `warning`. */
export function whenAbove(value: number, warning: number | null, critical: number | null): Severity {
  if (critical !== null && value > critical) return 'critical';
  if (warning !== null && value > warning) return 'warning';
  return 'info';
}

/** Severity of a value that is bad when low. */
export function whenBelow(value: number, warning: number | null, critical: number | null): Severity {
  if (critical !== null && value < critical) return 'critical';
  if (warning !== null && value < warning) return 'warning';
  return 'info';
}

export const round = (n: number, digits = 1): number => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

/** pg returns bigint and numeric as strings; null stays null. */
export const toNumber = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export function formatDuration(seconds: number): string {
  if (seconds < 120) return `${round(seconds, 1)} s`;
  if (seconds < 7200) return `${round(seconds / 60, 1)} min`;
  return `${round(seconds / 3600, 1)} h`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${round(v, 1)} ${units[i]}`;
}
