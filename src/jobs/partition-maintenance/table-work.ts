import { listPartitions, type PartitionInfo } from '../../platform/db/partitions.js';
import { qualified } from '../../platform/db/sql.js';
import { errorMessage } from '../../platform/redact.js';
import type { PartitionArchive } from './archive.js';
import { actionRecorder, type Act } from '../../shared/actions.js';
import type { Action, Finding, JobContext } from '../../shared/job.js';
import { ALL_LOCK_MODES, CONFLICTS_SHARE_UPDATE_EXCLUSIVE, DdlGaveUp, runDdl, type Blocker, type DdlPolicy, type DdlStatement } from './ddl.js';
import { OperationLog, type OperationState } from './operations.js';
import { periodStart, type KeyType } from './periods.js';
import type { TablePolicy } from './settings.js';
import * as sql from './statements.js';
import type { Range, Rel } from './statements.js';

export interface TableOptions {
  policy: TablePolicy;
  ddl: DdlPolicy;
  minAhead: number;
  batchRows: number;
  batchPauseMs: number;
  moveDefault: boolean;
  /** premake: only create future partitions and check; all: also retention and the slow path. */
  mode: 'all' | 'premake';
  /** Set when archiving is on; undefined with archiveRequired means archiving is misconfigured. */
  archive: PartitionArchive | undefined;
  archiveRequired: boolean;
}

export interface PartitionSummary {
  name: string;
  from: string | null;
  to: string | null;
  estimatedRows?: number;
  bytes?: number;
  archivedRows?: number;
  archiveUrl?: string;
}

export interface TableReport {
  table: string;
  kind: 'partitioned' | 'unpartitioned' | 'unusable';
  interval: string;
  retention: number;
  premake: number;
  cutoff: string;
  created: PartitionSummary[];
  detached: PartitionSummary[];
  dropped: PartitionSummary[];
  defaultPartition: { name: string; rows: number; moved: number } | null;
  /** Whole periods after the current one that are covered (after the run; planned in a dry run). */
  periodsAhead: number | null;
  deletedRows?: number;
  lockWaitMs: number;
  ddlAttempts: number;
  blockers: Blocker[];
  durationMs: number;
}

type OperationStart = Parameters<OperationLog['start']>[0];

/**
 * One table's state across the phases (inspect, resume, default partition, premake, retention,
 * slow path) and the only place that decides what a dry run does: DDL and row moves are listed
 * as planned, the operation log is left alone.
 */
export class TableWork {
  readonly findings: Finding[] = [];
  readonly actions: Action[] = [];
  readonly parent: Rel;
  readonly target: string;
  readonly report: TableReport;
  /** Records a step with its statement into this table's actions; planned only in a dry run. */
  readonly act: Act;
  keyType: KeyType = 'timestamp with time zone';
  columns: string[] = [];
  defaultPart: PartitionInfo | undefined;
  failedLocks = false;
  /** DDL statements completed (or attempted: a failed one may have changed the partitions). */
  ddlDone = 0;
  private readonly log: OperationLog;
  private dbName: string | undefined;
  private fromInspection: PartitionInfo[] | undefined;

  constructor(
    readonly ctx: JobContext,
    readonly o: TableOptions,
  ) {
    this.parent = { schema: o.policy.schema, name: o.policy.table };
    this.target = `${o.policy.schema}.${o.policy.table}`;
    this.log = new OperationLog(ctx.db, ctx.runId);
    this.act = actionRecorder(this.actions, ctx.dryRun);
    this.report = {
      table: this.target,
      kind: 'unusable',
      interval: o.policy.interval,
      retention: o.policy.retention,
      premake: o.policy.premake,
      cutoff: this.cutoff.toISOString(),
      created: [],
      detached: [],
      dropped: [],
      defaultPartition: null,
      periodsAhead: null,
      lockWaitMs: 0,
      ddlAttempts: 0,
      blockers: [],
      durationMs: 0,
    };
  }

  get dryRun(): boolean {
    return this.ctx.dryRun;
  }

  /** Partitions whose whole range ends at or before this are past retention. */
  get cutoff(): Date {
    return periodStart(this.ctx.now(), this.o.policy.interval, -this.o.policy.retention);
  }

  get parentKey(): { schema: string; table: string } {
    return { schema: this.parent.schema, table: this.parent.name };
  }

  /** The partitions as inspectTable read them, or read again after a DDL step; sizes are 0 (see withSizes). */
  async partitions(): Promise<PartitionInfo[]> {
    const parts = this.fromInspection ?? (await listPartitions(this.ctx.db, this.parent.schema, this.parent.name, { sizes: false }));
    this.fromInspection = undefined;
    this.defaultPart = parts.find((p) => p.isDefault);
    return parts;
  }

  inspected(parts: PartitionInfo[]): void {
    this.fromInspection = parts;
  }

  /** The partitions with their sizes (pg_total_relation_size), read for these only. */
  async withSizes(parts: readonly PartitionInfo[]): Promise<PartitionInfo[]> {
    if (parts.length === 0) return [];
    const { rows } = await this.ctx.db.query<{ bytes: string }>(
      `SELECT coalesce(pg_total_relation_size(to_regclass(r)), 0) AS bytes FROM unnest($1::text[]) WITH ORDINALITY AS u(r, i) ORDER BY i`,
      [parts.map((p) => qualified(p.schema, p.name))],
    );
    return parts.map((p, i) => ({ ...p, bytes: Number(rows[i]?.bytes ?? 0) }));
  }

  // ── the operation log (ops.partition_operation): untouched by a dry run ──────────────────

  async openOperations() {
    // A dry run may be asked of a database without the log yet (before `dbops migrate`).
    return this.dryRun ? this.log.open(this.parentKey).catch(() => []) : this.log.open(this.parentKey);
  }

  /** The id to advance later; 0 in a dry run. */
  async startOperation(input: Omit<OperationStart, 'parent'>): Promise<number> {
    return this.dryRun ? 0 : this.log.start({ parent: this.parentKey, ...input });
  }

  async advance(id: number, state: OperationState, extra?: { archiveUrl?: string; archivedRows?: number }): Promise<void> {
    if (!this.dryRun) await this.log.advance(id, state, extra);
  }

  async operationFailed(id: number, error: string): Promise<void> {
    if (!this.dryRun) await this.log.failed(id, error);
  }

  // ── DDL ──────────────────────────────────────────────────────────────────────────────────

  createStatement(part: Rel, range: Range): DdlStatement {
    return {
      description: `create ${part.name}`,
      statement: sql.createStandalone(this.parent, part, this.o.policy.key, range, this.keyType),
      locks: [{ relation: qualified(this.parent.schema, this.parent.name), modes: ['AccessExclusiveLock'] }],
    };
  }

  attachStatement(part: Rel, range: Range): DdlStatement {
    const locks: DdlStatement['locks'] = [{ relation: qualified(this.parent.schema, this.parent.name), modes: CONFLICTS_SHARE_UPDATE_EXCLUSIVE }];
    // ATTACH also takes ACCESS EXCLUSIVE on a default partition (and scans it).
    if (this.defaultPart) locks.push({ relation: qualified(this.defaultPart.schema, this.defaultPart.name), modes: ALL_LOCK_MODES });
    return { description: `attach ${part.name}`, statement: sql.attach(this.parent, part, range, this.keyType), locks };
  }

  dropCheckStatement(part: Rel): DdlStatement {
    return { description: `drop the bound CHECK on ${part.name}`, statement: sql.dropBoundCheck(part), locks: [{ relation: qualified(part.schema, part.name), modes: ALL_LOCK_MODES }] };
  }

  /** Runs (or in a dry run, lists) one DDL statement under the lock policy; records it; false when it did not complete. */
  async ddlStep(description: string, stmt: DdlStatement, attempt?: Parameters<typeof runDdl>[3]): Promise<boolean> {
    if (this.dryRun) {
      this.planned(description, stmt.statement);
      return true;
    }
    this.ddlDone++;
    try {
      const r = await runDdl(this.ctx, stmt, this.o.ddl, attempt);
      this.account(r);
      this.actions.push({
        description,
        statement: stmt.statement,
        status: 'done',
        durationMs: r.durationMs,
        details: { attempts: r.attempts, lockWaitMs: r.lockWaitMs, ...(r.blockers.length ? { blockers: r.blockers } : {}) },
      });
      if (r.blockers.length > 0) {
        this.findings.push({
          check: 'partition.blocked',
          severity: 'info',
          target: this.target,
          message: `${description}: waited on ${r.blockers.length} session(s) (${r.lockWaitMs} ms, ${r.attempts} attempt(s)) before it completed`,
          details: { blockers: r.blockers },
        });
      }
      return true;
    } catch (err) {
      const r = err instanceof DdlGaveUp ? err.result : undefined;
      if (r) this.account(r);
      const message = errorMessage(err);
      this.actions.push({ description, statement: stmt.statement, status: 'failed', error: message, ...(r ? { durationMs: r.durationMs, details: { attempts: r.attempts, lockWaitMs: r.lockWaitMs, blockers: r.blockers } } : {}) });
      this.failedLocks = true;
      this.findings.push({
        check: r && r.blockers.length ? 'partition.blocked' : 'partition.ddl-failed',
        severity: 'critical',
        target: this.target,
        message: `${description}: ${message}`,
        ...(r?.blockers.length ? { remedy: `end or wait out the blocking session(s): ${r.blockers.map((b) => `SELECT pg_terminate_backend(${b.pid})`).join('; ')}`, details: { blockers: r.blockers } } : {}),
      });
      return false;
    }
  }

  private account(r: { attempts: number; lockWaitMs: number; blockers: Blocker[] }): void {
    this.report.ddlAttempts += r.attempts;
    this.report.lockWaitMs += r.lockWaitMs;
    for (const b of r.blockers) if (!this.report.blockers.some((x) => x.pid === b.pid)) this.report.blockers.push(b);
  }

  // ── findings and small lookups ───────────────────────────────────────────────────────────

  planned(description: string, statement: string): void {
    this.actions.push({ description, statement, status: 'planned' });
  }

  note(message: string): void {
    this.ctx.log.info(message, { table: this.target });
    this.findings.push({ check: 'partition.resumed', severity: 'info', target: this.target, message });
  }

  warn(check: string, message: string, severity: 'warning' | 'critical' = 'warning', remedy?: string): void {
    this.findings.push({ check, severity, target: this.target, message, ...(remedy ? { remedy } : {}) });
  }

  async relationExists(r: Rel): Promise<boolean> {
    const { rows } = await this.ctx.db.query<{ oid: number | null }>('SELECT to_regclass($1)::oid AS oid', [qualified(r.schema, r.name)]);
    return rows[0]?.oid != null;
  }

  async database(): Promise<string> {
    if (!this.dbName) this.dbName = (await this.ctx.db.query<{ d: string }>('SELECT current_database() AS d')).rows[0]!.d;
    return this.dbName;
  }
}

export const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** A partition a dry run would have made, so the later phases plan as if it existed. */
export function plannedPartition(part: Rel, range: Range): PartitionInfo {
  return { schema: part.schema, name: part.name, from: range.from, to: range.to, isDefault: false, detachPending: false, estimatedRows: 0, bytes: 0, bound: '' };
}

export function summary(p: PartitionInfo): PartitionSummary {
  return { name: p.name, from: iso(p.from), to: iso(p.to), estimatedRows: p.estimatedRows, bytes: p.bytes };
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
