import type { Finding, JobStatus } from '../../shared/job.js';
import { formatBytes, formatDuration, type Metrics } from './check.js';
import type { ProblemChanges } from './diff.js';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function keyFigures(m: Metrics, windowHours: number): string {
  const parts: string[] = [];
  const v = (k: string) => m[k] ?? null;
  if (v('connections.total') !== null) parts.push(`${v('connections.total')} connections`);
  if (v('cache-hit.percent') !== null) parts.push(`cache hit ${v('cache-hit.percent')} %`);
  if (v('tps.value') !== null) parts.push(`${v('tps.value')} TPS`);
  if (v('avg-query-time.ms') !== null) parts.push(`avg statement ${v('avg-query-time.ms')} ms`);
  if (v('replica.lag-seconds') !== null) parts.push(`replica lag ${formatDuration(v('replica.lag-seconds')!)}`);
  const business: string[] = [];
  if (v('business.pc-success.percent') !== null) business.push(`product changes ${v('business.pc-success.percent')} % successful`);
  if (v('business.kos-success.percent') !== null) business.push(`KOS ${v('business.kos-success.percent')} %`);
  if (v('business.processing.seconds') !== null) business.push(`processing ${formatDuration(v('business.processing.seconds')!)}`);
  if (business.length) parts.push(`${business.join(', ')} (last ${windowHours} h)`);
  if (v('capacity.projected-6-months-bytes') !== null) parts.push(`about ${formatBytes(v('capacity.projected-6-months-bytes')!)} in 6 months`);
  return parts.join(', ');
}

function problemHeadline(problems: readonly Finding[]): string {
  const critical = problems.filter((f) => f.severity === 'critical');
  const warning = problems.filter((f) => f.severity === 'warning');
  const counts = [critical.length ? `${critical.length} critical` : '', warning.length ? plural(warning.length, 'warning') : ''].filter(Boolean).join(', ');
  const ordered = [...critical, ...warning];
  const first = ordered.slice(0, 2).map((f) => f.message);
  // The rest by check name, so every problem of the day is named in the summary.
  const rest = [...new Set(ordered.slice(2).map((f) => f.check))];
  return `${counts}: ${first.join('; ')}${rest.length ? `; also ${rest.join(', ')}` : ''}`;
}

export const summarize = {
  daily(findings: readonly Finding[], metrics: Metrics, windowHours: number): string {
    const problems = findings.filter((f) => f.severity !== 'info');
    const figures = keyFigures(metrics, windowHours);
    return problems.length === 0 ? `Healthy — ${figures}.` : `${problemHeadline(problems)} — ${figures}.`;
  },
  probe(status: JobStatus, changes: ProblemChanges, hadPrevious: boolean): string {
    const n = changes.changed.length + changes.resolved.length;
    if (n === 0) {
      return changes.persisting === 0
        ? 'No change since the previous check: healthy.'
        : `No change since the previous check: ${plural(changes.persisting, 'known problem')} persist${changes.persisting === 1 ? 's' : ''} (${status}).`;
    }
    const parts: string[] = [];
    if (changes.changed.length) parts.push(`${hadPrevious ? 'new' : 'found'}: ${changes.changed.map((f) => f.message).slice(0, 2).join('; ')}${changes.changed.length > 2 ? '; …' : ''}`);
    if (changes.resolved.length) parts.push(`resolved: ${changes.resolved.map((f) => f.check + (f.target ? ` [${f.target}]` : '')).join(', ')}`);
    return `${plural(n, 'change')} since the previous check (now ${status}) — ${parts.join('; ')}.`;
  },
};
