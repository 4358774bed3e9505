import { covers, type PartitionInfo } from '../../platform/db/partitions.js';
import { describePeriod, partitionName, periodStart } from './periods.js';
import type { Range, Rel } from './statements.js';
import { iso, plannedPartition, type TableWork } from './table-work.js';

/** Creates the current period's and the next `premake` periods' partitions that are missing. */
export async function premake(w: TableWork, parts: PartitionInfo[], planned: PartitionInfo[]): Promise<void> {
  const { interval, premake: ahead } = w.o.policy;
  const now = w.ctx.now();
  for (let i = 0; i <= ahead; i++) {
    const range = { from: periodStart(now, interval, i), to: periodStart(now, interval, i + 1) };
    if (covers(parts, range.from, range.to)) continue;
    const overlapping = parts.filter((p) => !p.isDefault && (p.from?.getTime() ?? -Infinity) < range.to.getTime() && (p.to?.getTime() ?? Infinity) > range.from.getTime());
    const part: Rel = { schema: w.parent.schema, name: partitionName(w.parent.name, range.from, interval) };
    if (overlapping.length > 0) {
      w.warn('partition.overlap', `${describePeriod(range.from, interval)} is only partly covered (by ${overlapping.map((p) => p.name).join(', ')}); not creating ${part.name}`, 'critical');
      continue;
    }
    if (part.name.length > 63) {
      w.warn('partition.name-too-long', `${part.name} is longer than 63 characters; shorten the table name`, 'critical');
      return;
    }
    if (await w.relationExists(part)) {
      w.warn('partition.name-taken', `${part.schema}.${part.name} exists but is not a partition of ${w.target}; not touched`, 'critical');
      continue;
    }
    if (!(await createPartition(w, part, range))) return;
    const made = plannedPartition(part, range);
    parts.push(made);
    if (w.dryRun) planned.push(made);
  }
}

/** Standalone table with indexes and a CHECK, then ATTACH (SHARE UPDATE EXCLUSIVE on the parent), then drop the CHECK. */
async function createPartition(w: TableWork, part: Rel, range: Range): Promise<boolean> {
  const opId = await w.startOperation({ partition: part, operation: 'create', state: 'creating', from: range.from, to: range.to });
  const ok =
    (await w.ddlStep(`create ${part.name} standalone, with the parent's indexes and a CHECK on its range`, w.createStatement(part, range))) &&
    (await w.ddlStep(`attach ${part.name} for ${describePeriod(range.from, w.o.policy.interval)}`, w.attachStatement(part, range))) &&
    (await w.ddlStep(`drop the bound CHECK on ${part.name}`, w.dropCheckStatement(part)));
  if (!ok) return false;
  await w.advance(opId, 'attached');
  w.report.created.push({ name: part.name, from: iso(range.from), to: iso(range.to) });
  return true;
}

/** The current period must be covered; at least `minAhead` whole periods after it should be. */
export function checkAhead(w: TableWork, parts: PartitionInfo[]): void {
  const { interval } = w.o.policy;
  const now = w.ctx.now();
  const suffix = w.dryRun ? ' (after the planned changes)' : '';
  if (!covers(parts, periodStart(now, interval), periodStart(now, interval, 1))) {
    w.report.periodsAhead = -1;
    w.findings.push({
      check: 'partition.current-missing',
      severity: 'critical',
      target: w.target,
      message: `no partition of ${w.target} covers the current ${interval}${suffix}: inserts fail`,
      remedy: 'dbops run partition-maintenance',
    });
    return;
  }
  let ahead = 0;
  while (ahead < 1000 && covers(parts, periodStart(now, interval, ahead + 1), periodStart(now, interval, ahead + 2))) ahead++;
  w.report.periodsAhead = ahead;
  if (ahead < w.o.minAhead) {
    w.findings.push({
      check: 'partition.future-short',
      severity: 'warning',
      target: w.target,
      message: `only ${ahead} future ${interval} partition(s) of ${w.target} exist${suffix}; at least ${w.o.minAhead} expected`,
      value: ahead,
      threshold: w.o.minAhead,
      remedy: 'dbops run partition-maintenance --param mode=premake',
    });
  }
}
