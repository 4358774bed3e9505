import { covers, type PartitionInfo } from '../../platform/db/partitions.js';
import { ident, qualified } from '../../platform/db/sql.js';
import { sleep } from '../../shared/async.js';
import { ALL_LOCK_MODES, CONFLICTS_SHARE_UPDATE_EXCLUSIVE, type DdlStatement } from './ddl.js';
import { describePeriod, partitionName, periodStart } from './periods.js';
import * as sql from './statements.js';
import type { Range, Rel } from './statements.js';
import { iso, plannedPartition, type TableWork } from './table-work.js';

/** Reports a default partition and, with moveDefault, moves its rows out into the periods' partitions. */
export async function handleDefault(w: TableWork, def: PartitionInfo, parts: PartitionInfo[], planned: PartitionInfo[]): Promise<void> {
  const d: Rel = { schema: def.schema, name: def.name };
  const { key, interval } = w.o.policy;
  const { rows } = await w.ctx.db.query<{ period: Date | null; n: string }>(
    `SELECT date_trunc($1, ${ident(key)}::timestamptz, 'UTC') AS period, count(*) AS n FROM ${qualified(d.schema, d.name)} GROUP BY 1 ORDER BY 1`,
    [interval],
  );
  const total = rows.reduce((s, r) => s + Number(r.n), 0);
  const report = { name: def.name, rows: total, moved: 0 };
  w.report.defaultPartition = report;
  const nulls = rows.find((r) => r.period === null);
  w.findings.push({
    check: 'partition.default',
    severity: 'warning',
    target: `${def.schema}.${def.name}`,
    message: `${w.target} has a default partition ${def.name} holding ${total} row(s); it makes every ATTACH scan it and rules out DETACH CONCURRENTLY`,
    value: total,
    unit: 'rows',
    remedy: total > 0 ? 'dbops run partition-maintenance --param moveDefault=true, then drop the empty default partition' : `ALTER TABLE ${qualified(w.parent.schema, w.parent.name)} DETACH PARTITION ${qualified(d.schema, d.name)}; DROP TABLE ${qualified(d.schema, d.name)}`,
    details: { byPeriod: rows.map((r) => ({ period: r.period ? describePeriod(r.period, interval) : null, rows: Number(r.n) })) },
  });
  if (nulls) {
    w.findings.push({
      check: 'partition.default-null-keys',
      severity: 'warning',
      target: `${def.schema}.${def.name}`,
      message: `${nulls.n} row(s) in ${def.name} have no ${key}; no range partition can take them`,
    });
  }
  if (!w.o.moveDefault || total === 0) return;

  for (const r of rows) {
    if (!r.period) continue;
    const range = { from: r.period, to: periodStart(r.period, interval, 1) };
    const part: Rel = { schema: w.parent.schema, name: partitionName(w.parent.name, range.from, interval) };
    if (covers(parts, range.from, range.to) || (await w.relationExists(part))) {
      w.warn('partition.default-move-blocked', `cannot move ${r.n} row(s) of ${describePeriod(range.from, interval)} out of ${def.name}: ${part.name} already exists`);
      continue;
    }
    report.moved += await moveOut(w, d, part, range, Number(r.n));
    if (w.dryRun) planned.push(plannedPartition(part, range));
    if (w.failedLocks) return;
  }
}

/** Creates the period's table, moves the rows over in batches, then attaches it in one short transaction with the last rows. */
async function moveOut(w: TableWork, def: Rel, part: Rel, range: Range, rows: number): Promise<number> {
  const { key } = w.o.policy;
  const { batchRows, batchPauseMs } = w.o;
  const opId = await w.startOperation({ partition: part, operation: 'create', state: 'creating', from: range.from, to: range.to });
  if (!(await w.ddlStep(`create ${part.name} standalone for rows in the default partition`, w.createStatement(part, range)))) return 0;
  const batch = sql.moveBatch(def, part, key, w.columns, range, w.keyType, batchRows);
  let moved = 0;
  await w.act(`move ${rows} row(s) from ${def.name} to ${part.name}, ${batchRows} per batch (repeated until fewer remain)`, batch, async () => {
    for (;;) {
      const r = await w.ctx.db.query(batch);
      moved += r.rowCount ?? 0;
      if ((r.rowCount ?? 0) < batchRows || w.ctx.signal.aborted) break;
      await sleep(batchPauseMs);
    }
  });
  const rest = sql.moveBatch(def, part, key, w.columns, range, w.keyType, null);
  const attach = sql.attach(w.parent, part, range, w.keyType);
  const stmt: DdlStatement = {
    description: `move the last rows and attach ${part.name} in one transaction`,
    statement: `BEGIN; ${rest}; ${attach}; COMMIT`,
    locks: [
      { relation: qualified(w.parent.schema, w.parent.name), modes: CONFLICTS_SHARE_UPDATE_EXCLUSIVE },
      { relation: qualified(def.schema, def.name), modes: ALL_LOCK_MODES },
    ],
  };
  const ok = await w.ddlStep(stmt.description, stmt, async (client) => {
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
  if (await w.ddlStep(`drop the bound CHECK on ${part.name}`, w.dropCheckStatement(part))) await w.advance(opId, 'attached');
  w.report.created.push({ name: part.name, from: iso(range.from), to: iso(range.to) });
  return moved;
}
