import { z } from 'zod';
import { defineJob, type Action, type Finding } from '../../shared/job.js';
import { paramBool } from '../../shared/runner/run-job.js';
import { readSettings } from '../../platform/settings.js';
import { partitionSettings, tablePolicies } from './settings.js';
import { formatBytes, TableMaintenance, type TableReport } from './table.js';
import { manifest } from './manifest.js';

const params = z
  .object({
    mode: z
      .enum(['all', 'premake'], { message: 'expected "all" (premake, retention, checks) or "premake" (future partitions and checks only)' })
      .default('all')
      .describe('all: premake, retention, archive, checks; premake: the daily check that only creates future partitions'),
    moveDefault: paramBool().default(false).describe('move rows out of a default partition into proper partitions, in batches'),
    table: z
      .string()
      .regex(/^[^.]+\.[^.]+$/, { message: 'expected schema.table, e.g. product_change.pc_kos_integration_log' })
      .optional()
      .describe('only this table (one of the configured ones)'),
  })
  .strict();

export const partitionMaintenance = defineJob({
  ...manifest,
  params,
  settings: partitionSettings,
  destructive: true,
  long: true,
  async run(ctx, p) {
    const s = readSettings(partitionSettings, ctx.env);
    const policies = tablePolicies(s).filter((t) => !p.table || `${t.schema}.${t.table}` === p.table);
    if (policies.length === 0) {
      return {
        status: 'failed',
        summary: `${p.table} is not a table partition-maintenance keeps: add it to DBOPS_PARTITION_TABLES.`,
      };
    }
    const archive = s.archive ? ctx.services.partitionArchive : undefined;
    const findings: Finding[] = [];
    const actions: Action[] = [];
    const steps: Record<string, number> = {};
    const tables: TableReport[] = [];
    for (const policy of policies) {
      const m = new TableMaintenance(ctx, {
        policy,
        ddl: { lockTimeoutMs: s.lockTimeoutMs, retries: s.ddlRetries, blockerWaitMs: s.blockerWaitSeconds * 1000 },
        minAhead: s.minAhead,
        batchRows: s.batchRows,
        batchPauseMs: s.batchPauseMs,
        moveDefault: p.moveDefault,
        mode: p.mode,
        archive,
        archiveRequired: s.archive,
      });
      try {
        await m.run();
      } catch (err) {
        findings.push({ check: 'partition.error', severity: 'critical', target: m.report.table, message: `${m.report.table}: ${(err as Error).message}` });
      }
      findings.push(...m.findings);
      actions.push(...m.actions);
      tables.push(m.report);
      steps[m.report.table] = m.report.durationMs;
    }
    return {
      summary: tables.map((t) => describeTable(t, ctx.dryRun)).join(' '),
      findings,
      actions,
      steps,
      data: {
        mode: p.mode,
        tables,
        lockWaitMs: tables.reduce((n, t) => n + t.lockWaitMs, 0),
        created: tables.reduce((n, t) => n + t.created.length, 0),
        dropped: tables.reduce((n, t) => n + t.dropped.length, 0),
      },
    };
  },
});

function describeTable(t: TableReport, dryRun: boolean): string {
  const verb = dryRun ? 'would ' : '';
  const parts: string[] = [];
  if (t.kind === 'unusable') return `${t.table}: not maintained (see findings).`;
  if (t.kind === 'unpartitioned') {
    return dryRun ? `${t.table}: unpartitioned, would delete old rows in batches (slow path).` : `${t.table}: unpartitioned, deleted ${t.deletedRows ?? 0} old row(s) (slow path).`;
  }
  if (t.created.length) parts.push(`${verb}${dryRun ? 'create' : 'created'} ${t.created.map((c) => c.name).join(', ')}`);
  if (t.dropped.length) {
    const rows = t.dropped.reduce((n, d) => n + (d.estimatedRows ?? 0), 0);
    const bytes = t.dropped.reduce((n, d) => n + (d.bytes ?? 0), 0);
    parts.push(`${verb}${dryRun ? 'drop' : 'dropped'} ${t.dropped.length} partition(s) past ${t.retention} ${t.interval}(s) (~${rows} rows, ${formatBytes(bytes)})`);
  }
  if (parts.length === 0) parts.push('nothing to change');
  const ahead = t.periodsAhead === null ? '' : t.periodsAhead < 0 ? '; current period NOT covered' : `; ${t.periodsAhead} ${t.interval}(s) ahead`;
  const wait = t.lockWaitMs > 0 ? `; waited ${(t.lockWaitMs / 1000).toFixed(1)} s on locks` : '';
  return `${t.table}: ${parts.join(', ')}${ahead}${wait}.`;
}
