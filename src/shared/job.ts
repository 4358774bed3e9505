import type pg from 'pg';
import type { z } from 'zod';
import type { Act } from './actions.js';
import type { CoreSettings } from './config.js';
import type { NormalizedSignal } from '../events/normalize.js';
import type { ConnectionTarget } from '../platform/db/connection.js';
import type { WithServer } from '../platform/db/session.js';
import type { Logger } from '../platform/log.js';
import type { Env, SettingSpecs } from '../platform/settings.js';

export const STATUSES = ['ok', 'warning', 'critical', 'failed', 'skipped'] as const;
export type JobStatus = (typeof STATUSES)[number];
export type Severity = 'info' | 'warning' | 'critical';
export type Trigger = 'timer' | 'http' | 'eventgrid' | 'alert' | 'cli' | 'test' | 'demo';

export interface Finding {
  /** Stable name of the check, e.g. "index.missing" or "connections.total". */
  check: string;
  severity: Severity;
  message: string;
  /** The object concerned, e.g. "product_change.pc_kos_integration_log". */
  target?: string;
  value?: number | string | boolean | null;
  threshold?: number | string | null;
  unit?: string;
  /** What to do about it, when there is a concrete step (a statement, a command). */
  remedy?: string;
  details?: Record<string, unknown>;
}

export interface Action {
  description: string;
  /** SQL or command, exactly as run (or as it would run in dry-run). */
  statement?: string;
  status: 'planned' | 'done' | 'failed' | 'skipped';
  durationMs?: number;
  error?: string;
  details?: Record<string, unknown>;
}

/** What a job returns; the runner adds the rest of the report. */
export interface JobOutcome {
  /** Overrides the status derived from findings (e.g. `skipped` when there is nothing to do). */
  status?: JobStatus;
  summary: string;
  findings?: Finding[];
  actions?: Action[];
  /** Named durations of the job's phases, in milliseconds. */
  steps?: Record<string, number>;
  /** Measurements other tools may read (JSON-serialisable). */
  data?: Record<string, unknown>;
}

export interface JobReport {
  job: string;
  status: JobStatus;
  summary: string;
  dryRun: boolean;
  trigger: Trigger;
  runId: number | null;
  findings: Finding[];
  actions: Action[];
  timings: { startedAt: string; finishedAt: string; durationMs: number; steps: Record<string, number> };
  data: Record<string, unknown>;
}

/** The database as a job sees it: a pool whose sessions carry the job's timeouts and name. */
export interface JobDatabase {
  readonly pool: pg.Pool;
  readonly target: ConnectionTarget;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  /** One session for several statements (SET LOCAL, a transaction, a lock). */
  withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  withTransaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T>;
}

/** Everything a job may touch. A job reaches Azure and the database only through this. */
export interface JobContext {
  readonly job: string;
  readonly runId: number | null;
  readonly trigger: Trigger;
  readonly dryRun: boolean;
  readonly db: JobDatabase;
  /**
   * Every other server a job connects to (a replica, a restored copy, a probed primary, a login
   * test): a pool with the job's session settings, named `dbops:<job>:<purpose>`, closed after `use`.
   */
  readonly withServer: WithServer;
  readonly settings: CoreSettings;
  /** The environment, for the job's own settings (read them with readSettings). */
  readonly env: Env;
  readonly log: Logger;
  readonly signal: AbortSignal;
  /** Injected clock, so tests can move time. */
  now(): Date;
  /** Runs one step of a job's work, or only plans it in a dry run, and records it in the report (see shared/actions.ts). */
  readonly act: Act;
  /** Services beyond the database (Azure clients, notifier), keyed by name. */
  readonly services: JobServices;
}

/**
 * Optional services a job may need, each typed by the module that provides it through
 * declaration merging:
 *
 *   declare module '../../shared/job.js' { interface JobServices { partitionArchive?: PartitionArchive } }
 *
 * The composition root (src/runtime.ts) lists the providers that fill them in. A job checks
 * for presence and reports `not configured` rather than failing.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by declaration merging
export interface JobServices {}

export interface Schedule {
  /** Setting that overrides it, e.g. DBOPS_SCHEDULE_HEALTH_CHECK. */
  setting: string;
  /** Six-field NCRONTAB in UTC, as Azure Functions timers take it. */
  default: string;
  description: string;
  /** Params the timer passes to the job. */
  params?: Record<string, unknown>;
}

/** A job as the Function App registers it, before (and without) loading its code. */
export interface JobManifest {
  name: string;
  title: string;
  description: string;
  schedules: Schedule[];
}

export interface JobDefinition<P = Record<string, unknown>> extends JobManifest {
  params: z.ZodType<P>;
  /** Settings this job reads beyond the core ones (documented with the job). */
  settings?: SettingSpecs;
  /** Settings without which the job cannot run here (e.g. Azure); the demo lists them. */
  requires?(env: Env): string[];
  /** Drops or deletes data: the demo shows its dry run, and the API requires dryRun:false explicitly. */
  destructive?: boolean;
  /** The params to run with when an event or alert routed to this job (see src/events/route.ts). */
  fromSignal?(signal: NormalizedSignal): Record<string, unknown>;
  /** Runs longer than an HTTP response may wait: the API answers 202 with the run id. */
  long?: boolean;
  run(ctx: JobContext, params: P): Promise<JobOutcome>;
}

export function defineJob<P>(definition: JobDefinition<P>): JobDefinition<P> {
  return definition;
}

const rank: Record<JobStatus, number> = { skipped: 0, ok: 1, warning: 2, critical: 3, failed: 4 };

export function worstStatus(statuses: readonly JobStatus[]): JobStatus {
  return statuses.reduce<JobStatus>((worst, s) => (rank[s] > rank[worst] ? s : worst), 'ok');
}

export function statusFromFindings(findings: readonly Finding[]): JobStatus {
  return worstStatus(findings.map((f) => (f.severity === 'critical' ? 'critical' : f.severity === 'warning' ? 'warning' : 'ok')));
}

/** Monitoring-plugin convention: 0 ok, 1 warning, 2 critical, 3 unknown/failed; skipped is 0. */
export function exitCodeFor(status: JobStatus): number {
  return { ok: 0, skipped: 0, warning: 1, critical: 2, failed: 3 }[status];
}

/** A job as the registry holds it: params are always parsed by `params` before `run` sees them. */
export type RegisteredJob = JobDefinition<unknown>;

export function registerJob<P>(job: JobDefinition<P>): RegisteredJob {
  return job;
}

/** Times a job's phases into `steps` (the report's timings), whether the phase succeeds or throws. */
export function stepTimer(): { steps: Record<string, number>; timed<T>(name: string, fn: () => Promise<T>): Promise<T> } {
  const steps: Record<string, number> = {};
  return {
    steps,
    async timed(name, fn) {
      const t = performance.now();
      try {
        return await fn();
      } finally {
        steps[name] = Math.round(performance.now() - t);
      }
    },
  };
}
