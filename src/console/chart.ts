import { html, raw, type SafeHtml } from './html.js';

export interface Point {
  t: Date;
  v: number;
}

export interface ChartOptions {
  label: string;
  unit?: string;
  threshold?: number | null;
  width?: number;
  height?: number;
  from: Date;
  to: Date;
}

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));

/** A small inline SVG line chart with its threshold, readable without JavaScript. */
export function lineChart(points: readonly Point[], o: ChartOptions): SafeHtml {
  const width = o.width ?? 320;
  const height = o.height ?? 80;
  const pad = 4;
  const span = Math.max(1, o.to.getTime() - o.from.getTime());
  const values = points.map((p) => p.v);
  const hi = Math.max(...values, o.threshold ?? -Infinity, 0);
  const lo = Math.min(...values, o.threshold ?? Infinity, 0);
  const range = hi - lo || 1;
  const x = (t: Date) => pad + ((t.getTime() - o.from.getTime()) / span) * (width - 2 * pad);
  const y = (v: number) => height - pad - ((v - lo) / range) * (height - 2 * pad);
  const path = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
  const last = points.at(-1);
  const summary = last
    ? `${o.label}: latest ${fmt(last.v)}${o.unit ?? ''}, min ${fmt(Math.min(...values))}, max ${fmt(Math.max(...values))}${o.threshold !== undefined && o.threshold !== null ? `, threshold ${fmt(o.threshold)}${o.unit ?? ''}` : ''}`
    : `${o.label}: no data in this period`;
  return html`<svg class="chart" role="img" aria-label="${summary}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">
  <title>${summary}</title>
  ${o.threshold !== undefined && o.threshold !== null ? html`<line class="threshold" x1="${pad}" x2="${width - pad}" y1="${y(o.threshold).toFixed(1)}" y2="${y(o.threshold).toFixed(1)}"></line>` : raw('')}
  ${points.length > 0 ? html`<path class="series" d="${path}"></path>` : html`<text x="${width / 2}" y="${height / 2}" text-anchor="middle" class="empty">no data</text>`}
  ${last ? html`<circle class="last" cx="${x(last.t).toFixed(1)}" cy="${y(last.v).toFixed(1)}" r="2.5"></circle>` : raw('')}
</svg>`;
}
