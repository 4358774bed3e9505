/**
 * A month-and-a-half of realistic daily cost lines, answered in Cost Management's shape: the
 * emulator's `cost.query` / `cost.forecast` responders aggregate this ledger by the request's
 * timeframe, filter, granularity and grouping, like the service does.
 */
import type { CostAnswer } from './cost.js';

export interface LedgerLine {
  resourceId: string;
  /** MeterSubCategory as Cost Management reports it. */
  meter: string;
  perDay: number;
  pricingModel?: string;
  tags?: Record<string, string>;
}

export interface LedgerEntry extends LedgerLine {
  day: number;
}

export const day = (iso: string): number => Number(iso.replaceAll('-', ''));
const isoOf = (d: Date) => d.toISOString().slice(0, 10);
const dayOf = (d: Date) => day(isoOf(d));

export function resourceIds(subscriptionId: string, resourceGroup: string, serverName: string) {
  const rg = `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`;
  return {
    primary: `${rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${serverName}`,
    replica: `${rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${serverName}-replica`,
    server: (name: string) => `${rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${name}`,
    privateEndpoint: (name = 'pe-pg') => `${rg}/providers/Microsoft.Network/privateEndpoints/${name}`,
    workspace: `${rg}/providers/Microsoft.OperationalInsights/workspaces/log-dbops`,
  };
}

export const METERS = {
  compute: 'Azure Database for PostgreSQL Flexible Server General Purpose Dsv3 Series Compute',
  storage: 'Az DB for PostgreSQL Flexible Server Storage',
  backup: 'Azure Database for PostgreSQL Flexible Server Backup Storage',
  privateEndpoint: 'Virtual Network Private Link',
  interRegion: 'Inter-Region',
  logAnalytics: '',
  /** Assumed name: Azure bills extended support on its own meter; its published name was not found. */
  extendedSupport: 'Azure Database for PostgreSQL Flexible Server Extended Support vCore',
} as const;

/**
 * The plan's deployment (section 9.1.1, about $1,400 a month): $46.14 a day.
 * primary compute with HA 22.00 · primary storage with HA 5.00 · replica 8.00 + 1.50 ·
 * backup storage 5.00 · network 0.24 + 2.40 · monitoring 2.00.
 */
export function planLines(ids: ReturnType<typeof resourceIds>): LedgerLine[] {
  return [
    { resourceId: ids.primary, meter: METERS.compute, perDay: 22 },
    { resourceId: ids.primary, meter: METERS.storage, perDay: 5 },
    { resourceId: ids.replica, meter: METERS.compute, perDay: 8 },
    { resourceId: ids.replica, meter: METERS.storage, perDay: 1.5 },
    { resourceId: ids.primary, meter: METERS.backup, perDay: 5 },
    { resourceId: ids.privateEndpoint(), meter: METERS.privateEndpoint, perDay: 0.24 },
    { resourceId: ids.primary, meter: METERS.interRegion, perDay: 2.4 },
    { resourceId: ids.workspace, meter: METERS.logAnalytics, perDay: 2 },
  ];
}
export const PLAN_PER_DAY = 46.14;

/** Every line on every day from `from` to `to` (inclusive, yyyy-mm-dd), scaled by `scale(day)`. */
export function spread(lines: readonly LedgerLine[], from: string, to: string, scale: (d: number) => number = () => 1): LedgerEntry[] {
  const out: LedgerEntry[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) {
    const d = dayOf(new Date(t));
    for (const line of lines) out.push({ ...line, day: d, perDay: line.perDay * scale(d) });
  }
  return out;
}

interface Body {
  type?: string;
  timeframe?: string;
  timePeriod?: { from: string; to: string };
  dataset?: {
    granularity?: string;
    grouping?: Array<{ type: string; name: string }>;
    filter?: { tags?: { name: string; operator: string; values: string[] } };
  };
}

/** The request's period, as the service reads it against `now` (UTC). */
function period(body: Body, now: Date): [number, number] {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  switch (body.timeframe) {
    case 'MonthToDate':
      return [dayOf(new Date(Date.UTC(y, m, 1))), dayOf(now)];
    case 'TheLastMonth':
      return [dayOf(new Date(Date.UTC(y, m - 1, 1))), dayOf(new Date(Date.UTC(y, m, 0)))];
    case 'Custom':
      return [day(body.timePeriod!.from.slice(0, 10)), day(body.timePeriod!.to.slice(0, 10))];
    default:
      throw new Error(`ledger: unsupported timeframe ${body.timeframe}`);
  }
}

/** A `cost.query` responder over the ledger. Records the cost type of each request in `types`. */
export function queryResponder(ledger: () => readonly LedgerEntry[], now: () => Date, types: string[] = []) {
  return (raw: Record<string, unknown>): CostAnswer => {
    const body = raw as Body;
    types.push(body.type ?? '');
    const [from, to] = period(body, now());
    const daily = body.dataset?.granularity === 'Daily';
    const groups = (body.dataset?.grouping ?? []).map((g) => g.name);
    const tag = body.dataset?.filter?.tags;
    const sums = new Map<string, { keys: string[]; day: number; cost: number }>();
    for (const e of ledger()) {
      if (e.day < from || e.day > to) continue;
      if (tag && !tag.values.includes(e.tags?.[tag.name] ?? '\u0000')) continue;
      const keys = groups.map((g) => (g === 'ResourceId' ? e.resourceId.toLowerCase() : g === 'MeterSubCategory' ? e.meter : g === 'PricingModel' ? (e.pricingModel ?? 'OnDemand') : ''));
      const id = JSON.stringify([keys, daily ? e.day : 0]);
      const s = sums.get(id) ?? { keys, day: e.day, cost: 0 };
      s.cost += e.perDay;
      sums.set(id, s);
    }
    return {
      columns: [
        { name: 'Cost', type: 'Number' },
        ...groups.map((name) => ({ name, type: 'String' })),
        ...(daily ? [{ name: 'UsageDate', type: 'Number' }] : []),
        { name: 'Currency', type: 'String' },
      ],
      rows: [...sums.values()].map((s) => [s.cost, ...s.keys, ...(daily ? [s.day] : []), 'USD']),
    };
  };
}

/** A `cost.forecast` responder: `perDay` on every day of the requested period. */
export function forecastResponder(perDay: number) {
  return (raw: Record<string, unknown>): CostAnswer => {
    const [from, to] = period(raw as Body, new Date());
    const rows: unknown[][] = [];
    for (let t = Date.parse(`${String(from).replace(/(\d{4})(\d\d)(\d\d)/, '$1-$2-$3')}T00:00:00Z`); dayOf(new Date(t)) <= to; t += 86_400_000) {
      rows.push([perDay, dayOf(new Date(t)), 'Forecast', 'USD']);
    }
    return { columns: [{ name: 'Cost', type: 'Number' }, { name: 'UsageDate', type: 'Number' }, { name: 'CostStatus', type: 'String' }, { name: 'Currency', type: 'String' }], rows };
  };
}
