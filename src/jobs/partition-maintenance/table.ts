import { covers, listPartitions, type PartitionInfo } from '../../platform/db/partitions.js';
import { ident, qualified } from '../../platform/db/sql.js';
import type { Action, Finding, JobContext } from '../../shared/job.js';
import { errorMessage } from '../../platform/redact.js';
import { archiveTable, type PartitionArchive } from './archive.js';
import { ALL_LOCK_MODES, CONFLICTS_SHARE_UPDATE_EXCLUSIVE, DdlGaveUp, runDdl, type Blocker, type DdlPolicy, type DdlStatement } from './ddl.js';
import { OperationLog, type OpenOperation } from './operations.js';
import { describePeriod, KEY_TYPES, partitionName, periodStart, type KeyType } from './periods.js';
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** One table's maintenance: resume, default partition, premake, retention, checks. */
export class TableMaintenance {
  readonly findings: Finding[] = [];
  readonly actions: Action[] = [];
  private readonly parent: Rel;
  private readonly target: string;
  private readonly ops: OperationLog;
  private keyType: KeyType = 'timestamp with time zone';
  private columns: string[] = [];
  private defaultPart: PartitionInfo | undefined;
  private failedLocks = false;
  /** DDL statements completed (or attempted: a failed one may have changed the partitions). */
  private ddlDone = 0;
  readonly report: TableReport;

  constructor(
    private readonly ctx: JobContext,
    private readonly o: TableOptions,
  ) {
    this.parent = { schema: o.policy.schema, name: o.policy.table };
    this.target = `${o.policy.schema}.${o.policy.table}`;
    this.ops = new OperationLog(ctx.db, ctx.runId);
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

  /** Partitions whose whole range ends at or before this are past retention. */
  get cutoff(): Date {
    return periodStart(this.ctx.now(), this.o.policy.interval, -this.o.policy.retention);
  }

  async run(): Promise<void> {
    const t = performance.now();
    try {
      const kind = await this.inspect();
      this.report.kind = kind;
      if (kind === 'partitioned') await this.maintainPartitioned();
      else if (kind === 'unpartitioned' && this.o.mode === 'all') await this.trimUnpartitioned();
    } finally {
      this.report.durationMs = Math.round(performance.now() - t);
    }
  }

  // ── inspection ──────────────────────────────────────────────────────────────────────────

  private async inspect(): Promise<TableReport['kind']> {
    const { policy } = this.o;
    const { rows } = await this.ctx.db.query<{ oid: number; relkind: string; partkey: string | null; key_type: string | null; columns: string[] }>(
      `SELECT c.oid, c.relkind, pg_get_partkeydef(c.oid) AS partkey, format_type(a.atttypid, a.atttypmod) AS key_type,
              ARRAY(SELECT x.attname::text FROM pg_attribute x WHERE x.attrelid = c.oid AND x.attnum > 0 AND NOT x.attisdropped ORDER BY x.attnum) AS columns
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = $3 AND a.attnum > 0 AND NOT a.attisdropped
        WHERE n.nspname = $1 AND c.relname = $2`,
      [policy.schema, policy.table, policy.key],
    );
    const rel = rows[0];
    const problem = (check: string, message: string, remedy?: string) => {
      this.findings.push({ check, severity: 'critical', target: this.target, message, ...(remedy ? { remedy } : {}) });
      return 'unusable' as const;
    };
    if (!rel) return problem('partition.table-missing', `${this.target} does not exist`, 'dbops migrate, or correct DBOPS_PARTITION_TABLES');
    if (!rel.key_type) return problem('partition.key-missing', `${this.target} has no column ${policy.key}`, 'correct the key column in DBOPS_PARTITION_TABLES');
    if (!(KEY_TYPES as readonly string[]).includes(rel.key_type)) {
      return problem('partition.key-type', `${this.target}.${policy.key} is ${rel.key_type}; partition-maintenance handles ${KEY_TYPES.join(' and ')} keys`);
    }
    this.keyType = rel.key_type as KeyType;
    this.columns = rel.columns;
    if (rel.relkind === 'r') return 'unpartitioned';
    if (rel.relkind !== 'p') return problem('partition.not-a-table', `${this.target} is not a table (relkind ${rel.relkind})`);
    const expected = [`RANGE (${policy.key})`, `RANGE (${ident(policy.key)})`];
    if (!rel.partkey || !expected.includes(rel.partkey)) {
      return problem('partition.key-differs', `${this.target} is partitioned ${rel.partkey ?? 'by something else'}, not RANGE (${policy.key})`, 'correct the key column in DBOPS_PARTITION_TABLES');
    }
    return 'partitioned';
  }

  // ── partitioned tables ─────────────────────────────────────────────────────────────────

  private get parentKey(): { schema: string; table: string } {
    return { schema: this.parent.schema, table: this.parent.name };
  }

  private async partitions(): Promise<PartitionInfo[]> {
    const parts = await listPartitions(this.ctx.db, this.parent.schema, this.parent.name);
    this.defaultPart = parts.find((p) => p.isDefault);
    return parts;
  }

  private async maintainPartitioned(): Promise<void> {
    let parts = await this.partitions();
    const open = this.ctx.dryRun ? await this.ops.open(this.parentKey).catch(() => []) : await this.ops.open(this.parentKey);
    const planned: PartitionInfo[] = [];
    // The partitions are read again only after a step changed them (each read costs a catalog
    // query with a size per partition); a dry run changes nothing.
    let listed = this.ddlDone;
    const fresh = async () => {
      if (!this.ctx.dryRun && this.ddlDone !== listed) {
        listed = this.ddlDone;
        parts = await this.partitions();
      }
      return parts;
    };

    await this.resume(open, parts, planned);
    await fresh();

    if (this.defaultPart) await this.handleDefault(this.defaultPart, parts, planned);
    await fresh();

    await this.premake([...parts, ...planned], planned);

    if (this.o.mode === 'all') await this.retention(await fresh(), open);

    const after = this.ctx.dryRun ? [...parts, ...planned] : await fresh();
    this.checkAhead(after);
  }

  /** Finishes what an earlier run left open: a partition created but not attached, one detached but not dropped. */
  private async resume(open: OpenOperation[], parts: PartitionInfo[], planned: PartitionInfo[]): Promise<void> {
    for (const op of open) {
      const part: Rel = { schema: op.partitionSchema, name: op.partitionName };
      const attached = parts.find((p) => p.schema === part.schema && p.name === part.name);
      const exists = attached ? true : await this.relationExists(part);
      if (op.operation === 'retire') {
        // Attached ones are picked up by retention, which finishes pending detaches too.
        if (attached) continue;
        if (!exists) {
          if (!this.ctx.dryRun) await this.ops.advance(op.id, 'gone');
          continue;
        }
        this.note(`resuming ${part.name}: ${op.state} by an earlier run, not yet dropped`);
        await this.finishRetire(op.id, op.state, part, { from: op.rangeFrom, to: op.rangeTo, estimatedRows: op.estimatedRows ?? 0, bytes: op.bytes ?? 0 });
        continue;
      }
      if (!exists) {
        if (!this.ctx.dryRun) await this.ops.advance(op.id, 'gone');
        continue;
      }
      if (!op.rangeFrom || !op.rangeTo) continue;
      const range = { from: op.rangeFrom, to: op.rangeTo };
      this.note(`resuming ${part.name}: created by an earlier run, ${attached ? 'attached' : 'not yet attached'}`);
      const ok = attached ? true : await this.ddlStep(`attach ${part.name} (left unattached by an earlier run)`, this.attachStatement(part, range));
      if (ok && (await this.ddlStep(`drop the bound CHECK on ${part.name}`, this.dropCheckStatement(part)))) {
        if (!this.ctx.dryRun) await this.ops.advance(op.id, 'attached');
        this.report.created.push({ name: part.name, from: iso(range.from), to: iso(range.to) });
        if (this.ctx.dryRun && !attached) planned.push(fakePartition(part, range));
      }
    }
  }

  private async handleDefault(def: PartitionInfo, parts: PartitionInfo[], planned: PartitionInfo[]): Promise<void> {
    const d: Rel = { schema: def.schema, name: def.name };
    const { rows } = await this.ctx.db.query<{ period: Date | null; n: string }>(
      `SELECT date_trunc($1, ${ident(this.o.policy.key)}::timestamptz, 'UTC') AS period, count(*) AS n FROM ${qualified(d.schema, d.name)} GROUP BY 1 ORDER BY 1`,
      [this.o.policy.interval],
    );
    const total = rows.reduce((s, r) => s + Number(r.n), 0);
    this.report.defaultPartition = { name: def.name, rows: total, moved: 0 };
    const nulls = rows.find((r) => r.period === null);
    this.findings.push({
      check: 'partition.default',
      severity: 'warning',
      target: `${def.schema}.${def.name}`,
      message: `${this.target} has a default partition ${def.name} holding ${total} row(s); it makes every ATTACH scan it and rules out DETACH CONCURRENTLY`,
      value: total,
      unit: 'rows',
      remedy: total > 0 ? 'dbops run partition-maintenance --param moveDefault=true, then drop the empty default partition' : `ALTER TABLE ${qualified(this.parent.schema, this.parent.name)} DETACH PARTITION ${qualified(d.schema, d.name)}; DROP TABLE ${qualified(d.schema, d.name)}`,
      details: { byPeriod: rows.map((r) => ({ period: r.period ? describePeriod(r.period, this.o.policy.interval) : null, rows: Number(r.n) })) },
    });
    if (nulls) {
      this.findings.push({
        check: 'partition.default-null-keys',
        severity: 'warning',
        target: `${def.schema}.${def.name}`,
        message: `${nulls.n} row(s) in ${def.name} have no ${this.o.policy.key}; no range partition can take them`,
      });
    }
    if (!this.o.moveDefault || total === 0) return;

    for (const r of rows) {
      if (!r.period) continue;
      const range = { from: r.period, to: periodStart(r.period, this.o.policy.interval, 1) };
      const part: Rel = { schema: this.parent.schema, name: partitionName(this.parent.name, range.from, this.o.policy.interval) };
      if (covers(parts, range.from, range.to) || (await this.relationExists(part))) {
        this.warn('partition.default-move-blocked', `cannot move ${r.n} row(s) of ${describePeriod(range.from, this.o.policy.interval)} out of ${def.name}: ${part.name} already exists`);
        continue;
      }
      const moved = await this.moveOut(d, part, range, Number(r.n));
      this.report.defaultPartition.moved += moved;
      if (this.ctx.dryRun) planned.push(fakePartition(part, range));
      if (this.failedLocks) return;
    }
  }

  /** Creates the period's table, moves the rows over in batches, then attaches it in one short transaction with the last rows. */
  private async moveOut(def: Rel, part: Rel, range: Range, rows: number): Promise<number> {
    const opId = this.ctx.dryRun
      ? 0
      : await this.ops.start({ parent: this.parentKey, partition: part, operation: 'create', state: 'creating', from: range.from, to: range.to });
    if (!(await this.ddlStep(`create ${part.name} standalone for rows in the default partition`, this.createStatement(part, range)))) return 0;
    const batch = sql.moveBatch(def, part, this.o.policy.key, this.columns, range, this.keyType, this.o.batchRows);
    let moved = 0;
    if (this.ctx.dryRun) {
      this.planned(`move ${rows} row(s) from ${def.name} to ${part.name}, ${this.o.batchRows} per batch (repeated until fewer remain)`, batch);
    } else {
      const t = performance.now();
      for (;;) {
        const r = await this.ctx.db.query(batch);
        moved += r.rowCount ?? 0;
        if ((r.rowCount ?? 0) < this.o.batchRows || this.ctx.signal.aborted) break;
        await sleep(this.o.batchPauseMs);
      }
      this.actions.push({ description: `moved ${moved} row(s) from ${def.name} to ${part.name} in batches of ${this.o.batchRows}`, statement: batch, status: 'done', durationMs: Math.round(performance.now() - t) });
    }
    const rest = sql.moveBatch(def, part, this.o.policy.key, this.columns, range, this.keyType, null);
    const attach = sql.attach(this.parent, part, range, this.keyType);
    const stmt: DdlStatement = {
      description: `move the last rows and attach ${part.name} in one transaction`,
      statement: `BEGIN; ${rest}; ${attach}; COMMIT`,
      locks: [
        { relation: qualified(this.parent.schema, this.parent.name), modes: CONFLICTS_SHARE_UPDATE_EXCLUSIVE },
        { relation: qualified(def.schema, def.name), modes: ALL_LOCK_MODES },
      ],
    };
    const ok = await this.ddlStep(stmt.description, stmt, async (client) => {
      await client.query('BEGIN');
      try {
        const r = await client.query(rest);
        await client.query(attach);
        await client.query('COMMIT');
        moved += r.rowCount ?? 0;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
    if (!ok) return moved;
    if ((await this.ddlStep(`drop the bound CHECK on ${part.name}`, this.dropCheckStatement(part))) && !this.ctx.dryRun) await this.ops.advance(opId, 'attached');
    this.report.created.push({ name: part.name, from: iso(range.from), to: iso(range.to) });
    return moved;
  }

  private async premake(parts: PartitionInfo[], planned: PartitionInfo[]): Promise<void> {
    const { interval, premake } = this.o.policy;
    const now = this.ctx.now();
    for (let i = 0; i <= premake; i++) {
      const range = { from: periodStart(now, interval, i), to: periodStart(now, interval, i + 1) };
      if (covers(parts, range.from, range.to)) continue;
      const overlapping = parts.filter((p) => !p.isDefault && (p.from?.getTime() ?? -Infinity) < range.to.getTime() && (p.to?.getTime() ?? Infinity) > range.from.getTime());
      const part: Rel = { schema: this.parent.schema, name: partitionName(this.parent.name, range.from, interval) };
      if (overlapping.length > 0) {
        this.warn('partition.overlap', `${describePeriod(range.from, interval)} is only partly covered (by ${overlapping.map((p) => p.name).join(', ')}); not creating ${part.name}`, 'critical');
        continue;
      }
      if (part.name.length > 63) {
        this.warn('partition.name-too-long', `${part.name} is longer than 63 characters; shorten the table name`, 'critical');
        return;
      }
      if (await this.relationExists(part)) {
        this.warn('partition.name-taken', `${part.schema}.${part.name} exists but is not a partition of ${this.target}; not touched`, 'critical');
        continue;
      }
      if (!(await this.create(part, range))) return;
      const made = fakePartition(part, range);
      parts.push(made);
      if (this.ctx.dryRun) planned.push(made);
    }
  }

  /** Standalone table with indexes and a CHECK, then ATTACH (SHARE UPDATE EXCLUSIVE on the parent), then drop the CHECK. */
  private async create(part: Rel, range: Range): Promise<boolean> {
    const opId = this.ctx.dryRun
      ? 0
      : await this.ops.start({ parent: this.parentKey, partition: part, operation: 'create', state: 'creating', from: range.from, to: range.to });
    const ok =
      (await this.ddlStep(`create ${part.name} standalone, with the parent's indexes and a CHECK on its range`, this.createStatement(part, range))) &&
      (await this.ddlStep(`attach ${part.name} for ${describePeriod(range.from, this.o.policy.interval)}`, this.attachStatement(part, range))) &&
      (await this.ddlStep(`drop the bound CHECK on ${part.name}`, this.dropCheckStatement(part)));
    if (!ok) return false;
    if (!this.ctx.dryRun) await this.ops.advance(opId, 'attached');
    this.report.created.push({ name: part.name, from: iso(range.from), to: iso(range.to) });
    return true;
  }

  private async retention(parts: PartitionInfo[], open: OpenOperation[]): Promise<void> {
    const cutoff = this.cutoff.getTime();
    const reopened = new Set(open.filter((o) => o.operation === 'retire').map((o) => `${o.partitionSchema}.${o.partitionName}`));
    const expired = parts.filter((p) => !p.isDefault && ((p.to !== null && p.to.getTime() <= cutoff) || reopened.has(`${p.schema}.${p.name}`)));
    if (expired.length === 0) return;
    if (this.o.archiveRequired && !this.o.archive) {
      this.warn(
        'partition.archive-unconfigured',
        `archiving is on but no archive is configured: ${expired.length} partition(s) past retention kept`,
        'critical',
        'set DBOPS_PARTITION_ARCHIVE_CONTAINER_URL (or DBOPS_PARTITION_ARCHIVE_CONNECTION_STRING), or DBOPS_PARTITION_ARCHIVE=false',
      );
      return;
    }
    for (const p of expired) {
      const part: Rel = { schema: p.schema, name: p.name };
      const opId = this.ctx.dryRun
        ? 0
        : await this.ops.start({
            parent: this.parentKey,
            partition: part,
            operation: 'retire',
            state: 'detaching',
            from: p.from,
            to: p.to,
            estimatedRows: p.estimatedRows,
            bytes: p.bytes,
          });
      const detached = await this.detach(part, p.detachPending);
      if (!detached) return;
      if (!this.ctx.dryRun) await this.ops.advance(opId, 'detached');
      this.report.detached.push(summary(p));
      if (!(await this.finishRetire(opId, 'detached', part, p))) return;
    }
  }

  private async detach(part: Rel, pending: boolean): Promise<boolean> {
    const parentRel = qualified(this.parent.schema, this.parent.name);
    if (this.defaultPart && !pending) {
      return this.ddlStep(`detach ${part.name} (a default partition rules out CONCURRENTLY: ACCESS EXCLUSIVE, bounded by lock_timeout)`, {
        description: `detach ${part.name}`,
        statement: sql.detachPlain(this.parent, part),
        locks: [{ relation: parentRel, modes: ALL_LOCK_MODES }],
      });
    }
    const finalize = sql.detachFinalize(this.parent, part);
    const stmt: DdlStatement = {
      description: pending ? `finish the pending detach of ${part.name}` : `detach ${part.name} concurrently`,
      statement: pending ? finalize : sql.detachConcurrently(this.parent, part),
      // The second phase waits for every transaction that uses the parent.
      locks: [{ relation: parentRel, modes: ALL_LOCK_MODES }],
    };
    return this.ddlStep(stmt.description, stmt, async (client, n) => {
      if (pending || n > 1) {
        // An interrupted CONCURRENTLY leaves the detach pending: only FINALIZE completes it.
        const state = await client.query<{ pending: boolean }>(
          `SELECT i.inhdetachpending AS pending FROM pg_inherits i WHERE i.inhrelid = to_regclass($1) AND i.inhparent = to_regclass($2)`,
          [qualified(part.schema, part.name), parentRel],
        );
        const row = state.rows[0];
        if (!row) return; // already detached
        if (row.pending) {
          await client.query(finalize);
          return;
        }
      }
      await client.query(stmt.statement);
    });
  }

  /** From detached to dropped, archiving first when asked; safe to repeat after a crash. */
  private async finishRetire(
    opId: number,
    state: OpenOperation['state'],
    part: Rel,
    p: { from: Date | null; to: Date | null; estimatedRows: number; bytes: number },
  ): Promise<boolean> {
    const entry: PartitionSummary = { name: part.name, from: iso(p.from), to: iso(p.to), estimatedRows: p.estimatedRows, bytes: p.bytes };
    if (this.o.archiveRequired && state !== 'archived') {
      if (!this.o.archive) {
        this.warn('partition.archive-unconfigured', `${part.name} is detached and waits for an archive before it is dropped`, 'critical');
        return false;
      }
      const blob = `${await this.database()}/${this.parent.schema}/${this.parent.name}/${part.name}.copy.gz`;
      if (this.ctx.dryRun) {
        this.planned(`archive ${part.name} to ${this.o.archive.location}/${blob} and verify its row count`, sql.copyOut(part));
      } else {
        try {
          const a = await archiveTable(this.ctx, this.o.archive, part, blob);
          await this.ops.advance(opId, 'archived', { archiveUrl: a.url, archivedRows: a.rows });
          entry.archivedRows = a.rows;
          entry.archiveUrl = a.url;
          this.actions.push({ description: `archived ${a.rows} row(s) of ${part.name} to ${a.url} (count verified)`, statement: sql.copyOut(part), status: 'done', durationMs: a.durationMs });
        } catch (err) {
          const message = errorMessage(err);
          await this.ops.failed(opId, message);
          this.actions.push({ description: `archive ${part.name}`, statement: sql.copyOut(part), status: 'failed', error: message });
          this.warn('partition.archive-failed', `${part.name} stays detached, not dropped: archive failed: ${message}`, 'critical');
          return false;
        }
      }
    }
    const ok = await this.ddlStep(`drop ${part.name} (${p.estimatedRows} rows est., ${formatBytes(p.bytes)})`, {
      description: `drop ${part.name}`,
      statement: sql.dropTable(part),
      locks: [{ relation: qualified(part.schema, part.name), modes: ALL_LOCK_MODES }],
    });
    if (!ok) {
      if (!this.ctx.dryRun) await this.ops.failed(opId, 'drop did not complete; the next run drops it');
      return false;
    }
    if (!this.ctx.dryRun) await this.ops.advance(opId, 'dropped');
    this.report.dropped.push(entry);
    return true;
  }

  private checkAhead(parts: PartitionInfo[]): void {
    const { interval } = this.o.policy;
    const now = this.ctx.now();
    const suffix = this.ctx.dryRun ? ' (after the planned changes)' : '';
    if (!covers(parts, periodStart(now, interval), periodStart(now, interval, 1))) {
      this.report.periodsAhead = -1;
      this.findings.push({
        check: 'partition.current-missing',
        severity: 'critical',
        target: this.target,
        message: `no partition of ${this.target} covers the current ${interval}${suffix}: inserts fail`,
        remedy: 'dbops run partition-maintenance',
      });
      return;
    }
    let ahead = 0;
    while (ahead < 1000 && covers(parts, periodStart(now, interval, ahead + 1), periodStart(now, interval, ahead + 2))) ahead++;
    this.report.periodsAhead = ahead;
    if (ahead < this.o.minAhead) {
      this.findings.push({
        check: 'partition.future-short',
        severity: 'warning',
        target: this.target,
        message: `only ${ahead} future ${interval} partition(s) of ${this.target} exist${suffix}; at least ${this.o.minAhead} expected`,
        value: ahead,
        threshold: this.o.minAhead,
        remedy: 'dbops run partition-maintenance --param mode=premake',
      });
    }
  }

  // ── unpartitioned tables: the slow path ────────────────────────────────────────────────

  private async trimUnpartitioned(): Promise<void> {
    const { key } = this.o.policy;
    const cutoff = this.cutoff;
    const stmt = sql.deleteBatch(this.parent, key, cutoff, this.keyType, this.o.batchRows);
    const remedy =
      `convert ${this.target} to a table partitioned by RANGE (${key}): create the partitioned twin with a primary key that includes ${key}, ` +
      `copy the retained rows, swap the names in one short transaction, then list it here; retention then drops whole partitions instead of deleting rows`;
    if (this.ctx.dryRun) {
      const { rows } = await this.ctx.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${qualified(this.parent.schema, this.parent.name)} WHERE ${ident(key)} < $1`, [cutoff]);
      this.planned(`delete ${rows[0]!.n} row(s) older than ${cutoff.toISOString()} in batches of ${this.o.batchRows}, ${this.o.batchPauseMs} ms apart (repeated until fewer remain)`, stmt);
      this.findings.push({ check: 'partition.slow-path', severity: 'warning', target: this.target, message: `${this.target} is not partitioned: retention would delete row by row`, remedy });
      return;
    }
    const t = performance.now();
    let deleted = 0;
    let batches = 0;
    for (;;) {
      const r = await this.ctx.db.query(stmt);
      deleted += r.rowCount ?? 0;
      batches++;
      if ((r.rowCount ?? 0) < this.o.batchRows || this.ctx.signal.aborted) break;
      await sleep(this.o.batchPauseMs);
    }
    const ms = Math.round(performance.now() - t);
    this.report.deletedRows = deleted;
    this.actions.push({ description: `deleted ${deleted} row(s) older than ${cutoff.toISOString()} in ${batches} batch(es) (slow path)`, statement: stmt, status: 'done', durationMs: ms });
    this.findings.push({
      check: 'partition.slow-path',
      severity: 'warning',
      target: this.target,
      message: `${this.target} is not partitioned: deleted ${deleted} row(s) in ${batches} batch(es) over ${(ms / 1000).toFixed(1)} s; its space returns only through VACUUM`,
      value: deleted,
      unit: 'rows',
      remedy,
    });
  }

  // ── helpers ────────────────────────────────────────────────────────────────────────────

  private createStatement(part: Rel, range: Range): DdlStatement {
    return {
      description: `create ${part.name}`,
      statement: sql.createStandalone(this.parent, part, this.o.policy.key, range, this.keyType),
      locks: [{ relation: qualified(this.parent.schema, this.parent.name), modes: ['AccessExclusiveLock'] }],
    };
  }

  private attachStatement(part: Rel, range: Range): DdlStatement {
    const locks: DdlStatement['locks'] = [{ relation: qualified(this.parent.schema, this.parent.name), modes: CONFLICTS_SHARE_UPDATE_EXCLUSIVE }];
    // ATTACH also takes ACCESS EXCLUSIVE on a default partition (and scans it).
    if (this.defaultPart) locks.push({ relation: qualified(this.defaultPart.schema, this.defaultPart.name), modes: ALL_LOCK_MODES });
    return { description: `attach ${part.name}`, statement: sql.attach(this.parent, part, range, this.keyType), locks };
  }

  private dropCheckStatement(part: Rel): DdlStatement {
    return { description: `drop the bound CHECK on ${part.name}`, statement: sql.dropBoundCheck(part), locks: [{ relation: qualified(part.schema, part.name), modes: ALL_LOCK_MODES }] };
  }

  /** Runs (or in a dry run, lists) one DDL statement; records it; false when it did not complete. */
  private async ddlStep(description: string, stmt: DdlStatement, attempt?: Parameters<typeof runDdl>[3]): Promise<boolean> {
    if (this.ctx.dryRun) {
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

  private planned(description: string, statement: string): void {
    this.actions.push({ description, statement, status: 'planned' });
  }

  private note(message: string): void {
    this.ctx.log.info(message, { table: this.target });
    this.findings.push({ check: 'partition.resumed', severity: 'info', target: this.target, message });
  }

  private warn(check: string, message: string, severity: 'warning' | 'critical' = 'warning', remedy?: string): void {
    this.findings.push({ check, severity, target: this.target, message, ...(remedy ? { remedy } : {}) });
  }

  private async relationExists(r: Rel): Promise<boolean> {
    const { rows } = await this.ctx.db.query<{ oid: number | null }>('SELECT to_regclass($1)::oid AS oid', [qualified(r.schema, r.name)]);
    return rows[0]?.oid != null;
  }

  private dbName: string | undefined;
  private async database(): Promise<string> {
    if (!this.dbName) this.dbName = (await this.ctx.db.query<{ d: string }>('SELECT current_database() AS d')).rows[0]!.d;
    return this.dbName;
  }
}

function fakePartition(part: Rel, range: Range): PartitionInfo {
  return { schema: part.schema, name: part.name, from: range.from, to: range.to, isDefault: false, detachPending: false, estimatedRows: 0, bytes: 0, bound: '' };
}

function summary(p: PartitionInfo): PartitionSummary {
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
