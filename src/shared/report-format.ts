import type { Finding, JobReport, JobStatus } from './job.js';

const icons: Record<JobStatus, string> = { ok: 'OK', warning: 'WARN', critical: 'CRIT', failed: 'FAIL', skipped: 'SKIP' };
const severityLabel: Record<Finding['severity'], string> = { info: 'info', warning: 'WARN', critical: 'CRIT' };

function formatValue(f: Finding): string {
  if (f.value === undefined && f.threshold === undefined) return '';
  const v = f.value === undefined ? '' : `${f.value}${f.unit ? ` ${f.unit}` : ''}`;
  const t = f.threshold === undefined || f.threshold === null ? '' : ` (threshold ${f.threshold}${f.unit ? ` ${f.unit}` : ''})`;
  return `${v}${t}`.trim();
}

/** A report as a person reads it in a terminal. */
export function formatReport(report: JobReport, options: { verbose?: boolean } = {}): string {
  const lines: string[] = [];
  lines.push(`[${icons[report.status]}] ${report.job}${report.dryRun ? ' (dry run)' : ''} — ${report.summary}`);
  const shown = options.verbose ? report.findings : report.findings.filter((f) => f.severity !== 'info');
  for (const f of shown) {
    const value = formatValue(f);
    lines.push(`   ${severityLabel[f.severity].padEnd(4)} ${f.check}${f.target ? ` [${f.target}]` : ''}: ${f.message}${value ? ` — ${value}` : ''}`);
    if (f.remedy) lines.push(`        fix: ${f.remedy}`);
  }
  const hidden = report.findings.length - shown.length;
  if (hidden > 0) lines.push(`   (${hidden} informational finding${hidden > 1 ? 's' : ''}; --verbose shows them)`);
  for (const a of report.actions) {
    lines.push(`   ${a.status === 'planned' ? 'PLAN' : a.status.toUpperCase().padEnd(4)} ${a.description}${a.durationMs !== undefined ? ` (${a.durationMs} ms)` : ''}`);
    if (a.statement && (options.verbose || a.status === 'planned')) lines.push(`        ${a.statement}`);
    if (a.error) lines.push(`        error: ${a.error}`);
  }
  lines.push(`   took ${report.timings.durationMs} ms${report.runId ? `, run #${report.runId}` : ''}`);
  return lines.join('\n');
}
