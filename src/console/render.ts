import { worstStatus, type Finding, type JobReport, type JobStatus } from '../shared/job.js';
import { lineChart } from './chart.js';
import type { ConsoleData, Rate, RunSummary } from './data.js';
import { html, raw, type SafeHtml } from './html.js';

const STYLE = raw(`
:root { --ok:#116b2f; --warn:#8a5300; --crit:#b3261e; --muted:#4a4f57; --bg:#fff; --fg:#14171a; --line:#d6d9de; --card:#f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "Noto Sans KR", sans-serif; color: var(--fg); background: var(--bg); }
header, main, footer { max-width: 1100px; margin: 0 auto; padding: 12px 16px; }
header { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: baseline; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.35rem; margin: 0; } h2 { font-size: 1.1rem; margin: 24px 0 8px; }
.status { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600; font-size: .85rem; border: 1px solid currentColor; }
.s-ok, .s-skipped { color: var(--ok); } .s-warning, .s-running { color: var(--warn); } .s-critical, .s-failed, .s-abandoned { color: var(--crit); }
.muted { color: var(--muted); }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; background: var(--card); }
.table-wrap { overflow-x: auto; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.card h3 { font-size: .95rem; margin: 0 0 6px; }
.chart { width: 100%; height: auto; max-width: 340px; }
.chart .series { fill: none; stroke: #1f5fbf; stroke-width: 2; }
.chart .threshold { stroke: var(--crit); stroke-dasharray: 4 3; stroke-width: 1; }
.chart .last { fill: #1f5fbf; } .chart .empty { fill: var(--muted); font-size: 12px; }
.big { font-size: 1.6rem; font-weight: 700; }
code { font-size: .85rem; overflow-wrap: anywhere; }
td code { white-space: nowrap; }
@media (max-width: 600px) { th, td { padding: 5px 4px; } .hide-narrow { display: none; } td code { white-space: normal; } }
`);

const statusBadge = (s: string) => html`<span class="status s-${s}">${s}</span>`;
const when = (d: Date | string | null | undefined) => (d ? new Date(d).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : '—');
const pct = (r: Rate | null) => (r?.percent === null || r?.percent === undefined ? '—' : `${r.percent.toFixed(1)} %`);
const num = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? v.toLocaleString('en') : v.toFixed(2)) : v === null || v === undefined ? '—' : String(v));

function overall(data: ConsoleData): JobStatus {
  const statuses = data.jobs.map((j) => j.latest?.status).filter((s): s is JobStatus => !!s && s !== 'skipped' && (s as string) !== 'running' && (s as string) !== 'abandoned');
  const fromAlerts: JobStatus[] = data.alerts.map((a) => (a.severity === 'critical' ? 'critical' : 'warning'));
  return worstStatus([...statuses, ...fromAlerts]);
}

const SEVERITY_ORDER: Record<string, number> = { critical: 0, warning: 1, info: 2 };

function checksTable(all: Finding[]): SafeHtml {
  if (all.length === 0) return html`<p class="muted">No findings in the latest health check.</p>`;
  // Problems first: a daily check has some forty findings, most of them notes.
  const findings = [...all].sort((a, b) => (SEVERITY_ORDER[a.severity] ?? 3) - (SEVERITY_ORDER[b.severity] ?? 3));
  return html`<div class="table-wrap"><table>
<thead><tr><th scope="col">severity</th><th scope="col">check</th><th scope="col">where</th><th scope="col">value</th><th scope="col">threshold</th><th scope="col" class="hide-narrow">message</th></tr></thead>
<tbody>${findings.map(
    (f) => html`<tr><td>${statusBadge(f.severity === 'info' ? 'ok' : f.severity)}</td><td><code>${f.check}</code></td><td>${f.target ?? ''}</td><td>${num(f.value)}${f.unit ? ` ${f.unit}` : ''}</td><td>${num(f.threshold)}</td><td class="hide-narrow">${f.message}</td></tr>`,
  )}</tbody></table></div>`;
}

function runsTable(runs: RunSummary[]): SafeHtml {
  if (runs.length === 0) return html`<p class="muted">No runs recorded yet.</p>`;
  return html`<div class="table-wrap"><table>
<thead><tr><th scope="col">run</th><th scope="col">job</th><th scope="col">status</th><th scope="col">started</th><th scope="col">took</th><th scope="col" class="hide-narrow">by</th><th scope="col">summary</th></tr></thead>
<tbody>${runs.map(
    (r) => html`<tr><td>#${r.id}</td><td>${r.job}${r.dryRun ? ' (dry run)' : ''}</td><td>${statusBadge(r.status)}</td><td>${when(r.startedAt)}</td><td>${r.durationMs === null ? '—' : `${(r.durationMs / 1000).toFixed(1)} s`}</td><td class="hide-narrow">${r.trigger}${r.triggeredBy ? ` · ${r.triggeredBy}` : ''}</td><td>${r.summary ?? ''}</td></tr>`,
  )}</tbody></table></div>`;
}

function dataFields(report: JobReport | null, keys: string[]): SafeHtml {
  if (!report) return html`<p class="muted">Not run yet.</p>`;
  const present = keys.filter((k) => report.data[k] !== undefined);
  return html`<p>${statusBadge(report.status)} ${report.summary} <span class="muted">(${when(report.timings.finishedAt)})</span></p>
${present.length ? html`<dl>${present.map((k) => html`<dt>${k}</dt><dd>${num(report.data[k])}</dd>`)}</dl>` : raw('')}`;
}

/** The whole status page: one server-rendered document, no script, readable on a phone. */
export function renderConsole(data: ConsoleData): string {
  const status = overall(data);
  const now = data.generatedAt;
  const dayFrom = new Date(now.getTime() - 86_400_000);
  const weekFrom = new Date(now.getTime() - 7 * 86_400_000);
  const p = data.partitions;
  const page = html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>dbops — ${status} — ${data.environment}</title><link rel="icon" href="data:,"><style>${STYLE}</style></head>
<body>
<header><h1>dbops status</h1><span>${statusBadge(status)}</span><span class="muted">environment ${data.environment} · ${when(now)}</span></header>
<main>
${data.problems.length ? html`<section aria-labelledby="problems"><h2 id="problems">Could not read</h2><ul>${data.problems.map((x) => html`<li>${x}</li>`)}</ul></section>` : raw('')}
<section aria-labelledby="jobs"><h2 id="jobs">Jobs</h2><div class="table-wrap"><table>
<thead><tr><th scope="col">job</th><th scope="col">last status</th><th scope="col">last run</th><th scope="col">summary</th></tr></thead>
<tbody>${data.jobs.map((j) => html`<tr><td>${j.title}</td><td>${j.latest ? statusBadge(j.latest.status) : html`<span class="muted">never run</span>`}</td><td>${when(j.latest?.startedAt)}</td><td>${j.latest?.summary ?? ''}</td></tr>`)}</tbody>
</table></div></section>
<section aria-labelledby="alerts"><h2 id="alerts">Open alerts</h2>${
    data.alerts.length === 0
      ? html`<p class="muted">No open alerts.</p>`
      : html`<ul>${data.alerts.map((a) => html`<li>${statusBadge(a.severity)} <code>${a.job} · ${a.check}</code> ${a.target ?? ''} — ${a.message} <span class="muted">since ${when(a.since)}</span></li>`)}</ul>`
  }</section>
<section aria-labelledby="business"><h2 id="business">Business, last 24 hours</h2><div class="cards">
<div class="card"><h3>Product-change success</h3><p class="big">${pct(data.business.productChange)}</p><p class="muted">${num(data.business.productChange?.succeeded)} of ${num(data.business.productChange?.total)} finished requests (target &gt; 95 %)</p></div>
<div class="card"><h3>KOS integration success</h3><p class="big">${pct(data.business.kos)}</p><p class="muted">${num(data.business.kos?.succeeded)} of ${num(data.business.kos?.total)} calls (target &gt; 98 %)</p></div>
</div></section>
<section aria-labelledby="checks"><h2 id="checks">Health checks</h2>${data.health.report ? html`<p>${statusBadge(data.health.report.status)} ${data.health.report.summary} <span class="muted">(${when(data.health.report.timings.finishedAt)})</span></p>` : html`<p class="muted">The health check has not run yet.</p>`}${checksTable(data.health.checks)}</section>
<section aria-labelledby="trends"><h2 id="trends">Trends</h2>${
    data.series.length === 0
      ? html`<p class="muted">No health snapshots yet: trends appear after a few health-check runs.</p>`
      : html`<div class="cards">${data.series.map(
          (s) => html`<div class="card"><h3>${s.label}</h3><p class="muted">last day</p>${lineChart(s.day, { label: `${s.label}, last day`, unit: s.unit, threshold: s.threshold, from: dayFrom, to: now })}<p class="muted">last week</p>${lineChart(s.week, { label: `${s.label}, last week`, unit: s.unit, threshold: s.threshold, from: weekFrom, to: now })}</div>`,
        )}</div>`
  }</section>
<section aria-labelledby="partitions"><h2 id="partitions">Partitions</h2>${
    p
      ? html`<p>${p.table}: ${p.items.length} partitions; retention ${p.retentionMonths} months keeps data from ${when(p.horizon)}.</p><div class="table-wrap"><table>
<thead><tr><th scope="col">partition</th><th scope="col">from</th><th scope="col">to</th><th scope="col">rows (est.)</th><th scope="col">size</th><th scope="col">retention</th></tr></thead>
<tbody>${p.items.map(
          (x) => html`<tr><td><code>${x.name}</code>${x.detachPending ? ' (detach pending)' : ''}</td><td>${when(x.from)}</td><td>${when(x.to)}</td><td>${num(x.estimatedRows)}</td><td>${(x.bytes / 1048576).toFixed(1)} MB</td><td>${x.isDefault ? 'default partition' : x.to && x.to <= p.horizon ? html`<span class="s-warning">past retention</span>` : 'kept'}</td></tr>`,
        )}</tbody></table></div>`
      : html`<p class="muted">Partitions could not be read.</p>`
  }</section>
<section aria-labelledby="backup"><h2 id="backup">Last backup verification</h2>${dataFields(data.backup, ['restoreMinutes', 'rtoMinutes', 'rpoMinutes', 'restorePoint', 'latestBackup'])}</section>
<section aria-labelledby="cost"><h2 id="cost">Cost this month</h2>${dataFields(data.cost, ['currency', 'monthToDate', 'projectedMonthEnd', 'budget', 'lastMonth'])}</section>
<section aria-labelledby="runs"><h2 id="runs">Recent runs</h2>${runsTable(data.recentRuns)}</section>
</main>
<footer class="muted">dbops · this page reloads nothing by itself; refresh to update.</footer>
</body></html>`;
  return page.value;
}
