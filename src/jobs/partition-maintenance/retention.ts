import type { PartitionInfo } from '../../platform/db/partitions.js';
import { qualified } from '../../platform/db/sql.js';
import { errorMessage } from '../../platform/redact.js';
import { archiveTable } from './archive.js';
import { ALL_LOCK_MODES, type DdlStatement } from './ddl.js';
import type { OpenOperation } from './operations.js';
import * as sql from './statements.js';
import type { Rel } from './statements.js';
import { formatBytes, iso, summary, type PartitionSummary, type TableWork } from './table-work.js';

/** Detaches (concurrently where it can) and drops, archiving first when asked, every partition past the cutoff. */
export async function retention(w: TableWork, parts: PartitionInfo[], open: OpenOperation[]): Promise<void> {
  const cutoff = w.cutoff.getTime();
  const reopened = new Set(open.filter((o) => o.operation === 'retire').map((o) => `${o.partitionSchema}.${o.partitionName}`));
  const due = parts.filter((p) => !p.isDefault && ((p.to !== null && p.to.getTime() <= cutoff) || reopened.has(`${p.schema}.${p.name}`)));
  if (due.length === 0) return;
  if (w.o.archiveRequired && !w.o.archive) {
    w.warn(
      'partition.archive-unconfigured',
      `archiving is on but no archive is configured: ${due.length} partition(s) past retention kept`,
      'critical',
      'set DBOPS_PARTITION_ARCHIVE_CONTAINER_URL (or DBOPS_PARTITION_ARCHIVE_CONNECTION_STRING), or DBOPS_PARTITION_ARCHIVE=false',
    );
    return;
  }
  const expired = await w.withSizes(due);
  for (const p of expired) {
    const part: Rel = { schema: p.schema, name: p.name };
    const opId = await w.startOperation({ partition: part, operation: 'retire', state: 'detaching', from: p.from, to: p.to, estimatedRows: p.estimatedRows, bytes: p.bytes });
    if (!(await detach(w, part, p.detachPending))) return;
    await w.advance(opId, 'detached');
    w.report.detached.push(summary(p));
    if (!(await finishRetire(w, opId, 'detached', part, p))) return;
  }
}

async function detach(w: TableWork, part: Rel, pending: boolean): Promise<boolean> {
  const parentRel = qualified(w.parent.schema, w.parent.name);
  if (w.defaultPart && !pending) {
    return w.ddlStep(`detach ${part.name} (a default partition rules out CONCURRENTLY: ACCESS EXCLUSIVE, bounded by lock_timeout)`, {
      description: `detach ${part.name}`,
      statement: sql.detachPlain(w.parent, part),
      locks: [{ relation: parentRel, modes: ALL_LOCK_MODES }],
    });
  }
  const finalize = sql.detachFinalize(w.parent, part);
  const stmt: DdlStatement = {
    description: pending ? `finish the pending detach of ${part.name}` : `detach ${part.name} concurrently`,
    statement: pending ? finalize : sql.detachConcurrently(w.parent, part),
    // The second phase waits for every transaction that uses the parent.
    locks: [{ relation: parentRel, modes: ALL_LOCK_MODES }],
  };
  return w.ddlStep(stmt.description, stmt, async (client, n) => {
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
export async function finishRetire(
  w: TableWork,
  opId: number,
  state: OpenOperation['state'],
  part: Rel,
  p: { from: Date | null; to: Date | null; estimatedRows: number; bytes: number },
): Promise<boolean> {
  const entry: PartitionSummary = { name: part.name, from: iso(p.from), to: iso(p.to), estimatedRows: p.estimatedRows, bytes: p.bytes };
  if (w.o.archiveRequired && state !== 'archived') {
    const archive = w.o.archive;
    if (!archive) {
      w.warn('partition.archive-unconfigured', `${part.name} is detached and waits for an archive before it is dropped`, 'critical');
      return false;
    }
    const blob = `${await w.database()}/${w.parent.schema}/${w.parent.name}/${part.name}.copy.gz`;
    try {
      const a = await w.act(`archive ${part.name} to ${archive.location}/${blob} and verify its row count`, sql.copyOut(part), () => archiveTable(w.ctx, archive, part, blob));
      if (a) {
        await w.advance(opId, 'archived', { archiveUrl: a.url, archivedRows: a.rows });
        entry.archivedRows = a.rows;
        entry.archiveUrl = a.url;
      }
    } catch (err) {
      const message = errorMessage(err);
      await w.operationFailed(opId, message);
      w.warn('partition.archive-failed', `${part.name} stays detached, not dropped: archive failed: ${message}`, 'critical');
      return false;
    }
  }
  const ok = await w.ddlStep(`drop ${part.name} (${p.estimatedRows} rows est., ${formatBytes(p.bytes)})`, {
    description: `drop ${part.name}`,
    statement: sql.dropTable(part),
    locks: [{ relation: qualified(part.schema, part.name), modes: ALL_LOCK_MODES }],
  });
  if (!ok) {
    await w.operationFailed(opId, 'drop did not complete; the next run drops it');
    return false;
  }
  await w.advance(opId, 'dropped');
  w.report.dropped.push(entry);
  return true;
}
