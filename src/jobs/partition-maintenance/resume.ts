import type { PartitionInfo } from '../../platform/db/partitions.js';
import type { OpenOperation } from './operations.js';
import { finishRetire } from './retention.js';
import type { Rel } from './statements.js';
import { iso, plannedPartition, type TableWork } from './table-work.js';

/** Finishes what an earlier run left open: a partition created but not attached, one detached but not dropped. */
export async function resumeOpen(w: TableWork, open: OpenOperation[], parts: PartitionInfo[], planned: PartitionInfo[]): Promise<void> {
  for (const op of open) {
    const part: Rel = { schema: op.partitionSchema, name: op.partitionName };
    const attached = parts.find((p) => p.schema === part.schema && p.name === part.name);
    const exists = attached ? true : await w.relationExists(part);
    if (!exists) {
      await w.advance(op.id, 'gone');
      continue;
    }
    if (op.operation === 'retire') {
      // Attached ones are picked up by retention, which finishes pending detaches too.
      if (attached) continue;
      w.note(`resuming ${part.name}: ${op.state} by an earlier run, not yet dropped`);
      await finishRetire(w, op.id, op.state, part, { from: op.rangeFrom, to: op.rangeTo, estimatedRows: op.estimatedRows ?? 0, bytes: op.bytes ?? 0 });
      continue;
    }
    if (!op.rangeFrom || !op.rangeTo) continue;
    const range = { from: op.rangeFrom, to: op.rangeTo };
    w.note(`resuming ${part.name}: created by an earlier run, ${attached ? 'attached' : 'not yet attached'}`);
    const ok = attached ? true : await w.ddlStep(`attach ${part.name} (left unattached by an earlier run)`, w.attachStatement(part, range));
    if (ok && (await w.ddlStep(`drop the bound CHECK on ${part.name}`, w.dropCheckStatement(part)))) {
      await w.advance(op.id, 'attached');
      w.report.created.push({ name: part.name, from: iso(range.from), to: iso(range.to) });
      if (w.dryRun && !attached) planned.push(plannedPartition(part, range));
    }
  }
}
