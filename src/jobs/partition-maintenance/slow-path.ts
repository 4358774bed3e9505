import { ident, qualified } from '../../platform/db/sql.js';
import { sleep } from '../../shared/async.js';
import * as sql from './statements.js';
import type { TableWork } from './table-work.js';

/** Retention on a table that is not partitioned: DELETE in batches, a pause between them, and a finding that says how to get off this path. */
export async function trimUnpartitioned(w: TableWork): Promise<void> {
  const { key } = w.o.policy;
  const { batchRows, batchPauseMs } = w.o;
  const cutoff = w.cutoff;
  const stmt = sql.deleteBatch(w.parent, key, cutoff, w.keyType, batchRows);
  const remedy =
    `convert ${w.target} to a table partitioned by RANGE (${key}): create the partitioned twin with a primary key that includes ${key}, ` +
    `copy the retained rows, swap the names in one short transaction, then list it here; retention then drops whole partitions instead of deleting rows`;
  // The row count is read only for a dry run's plan; the real run counts what it deletes.
  const due = w.dryRun
    ? (await w.ctx.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${qualified(w.parent.schema, w.parent.name)} WHERE ${ident(key)} < $1`, [cutoff])).rows[0]!.n
    : 'the';
  const t = performance.now();
  let deleted = 0;
  let batches = 0;
  await w.act(`delete ${due} row(s) older than ${cutoff.toISOString()} in batches of ${batchRows}, ${batchPauseMs} ms apart (repeated until fewer remain)`, stmt, async () => {
    for (;;) {
      const r = await w.ctx.db.query(stmt);
      deleted += r.rowCount ?? 0;
      batches++;
      if ((r.rowCount ?? 0) < batchRows || w.ctx.signal.aborted) break;
      await sleep(batchPauseMs);
    }
  });
  if (w.dryRun) {
    w.findings.push({ check: 'partition.slow-path', severity: 'warning', target: w.target, message: `${w.target} is not partitioned: retention would delete row by row`, remedy });
    return;
  }
  const ms = Math.round(performance.now() - t);
  w.report.deletedRows = deleted;
  w.findings.push({
    check: 'partition.slow-path',
    severity: 'warning',
    target: w.target,
    message: `${w.target} is not partitioned: deleted ${deleted} row(s) in ${batches} batch(es) over ${(ms / 1000).toFixed(1)} s; its space returns only through VACUUM`,
    value: deleted,
    unit: 'rows',
    remedy,
  });
}
