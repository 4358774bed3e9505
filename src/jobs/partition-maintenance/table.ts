import type { PartitionInfo } from '../../platform/db/partitions.js';
import type { Action, Finding, JobContext } from '../../shared/job.js';
import { handleDefault } from './default-partition.js';
import { inspectTable } from './inspect.js';
import { checkAhead, premake } from './premake.js';
import { resumeOpen } from './resume.js';
import { retention } from './retention.js';
import { trimUnpartitioned } from './slow-path.js';
import { TableWork, type TableOptions, type TableReport } from './table-work.js';

export { formatBytes, type PartitionSummary, type TableOptions, type TableReport } from './table-work.js';

/** One table's maintenance, phase by phase: inspect, resume, default partition, premake, retention, checks. */
export class TableMaintenance {
  private readonly w: TableWork;

  constructor(ctx: JobContext, options: TableOptions) {
    this.w = new TableWork(ctx, options);
  }

  get report(): TableReport {
    return this.w.report;
  }
  get findings(): Finding[] {
    return this.w.findings;
  }
  get actions(): Action[] {
    return this.w.actions;
  }

  async run(): Promise<void> {
    const t = performance.now();
    try {
      const kind = await inspectTable(this.w);
      this.w.report.kind = kind;
      if (kind === 'partitioned') await this.maintainPartitioned();
      else if (kind === 'unpartitioned' && this.w.o.mode === 'all') await trimUnpartitioned(this.w);
    } finally {
      this.w.report.durationMs = Math.round(performance.now() - t);
    }
  }

  private async maintainPartitioned(): Promise<void> {
    const w = this.w;
    let parts = await w.partitions();
    const open = await w.openOperations();
    // What a dry run would have created, so the later phases plan as if it existed.
    const planned: PartitionInfo[] = [];
    // The partitions are read again only after a step changed them (each read costs a catalog
    // query with a size per partition); a dry run changes nothing.
    let listed = w.ddlDone;
    const fresh = async () => {
      if (w.ddlDone !== listed) {
        listed = w.ddlDone;
        parts = await w.partitions();
      }
      return parts;
    };

    await resumeOpen(w, open, parts, planned);
    await fresh();

    if (w.defaultPart) await handleDefault(w, w.defaultPart, parts, planned);
    await fresh();

    // From here the partitions are tracked rather than read again: premake adds the ones it
    // attaches (new and empty, so their sizes are known), retention only takes some away, and
    // the check ahead needs nothing but the ranges. (One catalog read saved: ~15 ms a run.)
    const known = [...parts, ...planned];
    await premake(w, known, planned);

    if (w.o.mode === 'all') await retention(w, known, open);

    const retired = new Set(w.report.detached.map((d) => d.name));
    checkAhead(w, known.filter((p) => !retired.has(p.name)));
  }
}
