import type { AzureServices, ForecastDefinition, QueryDefinition } from '../../platform/azure/index.js';
import { dayDate, parseCostTable, type CostRow } from './table.js';

export type CostType = 'ActualCost' | 'AmortizedCost';

const aggregation = { totalCost: { name: 'Cost', function: 'Sum' as const } };
const byResourceAndMeter = [
  { type: 'Dimension' as const, name: 'ResourceId' },
  { type: 'Dimension' as const, name: 'MeterSubCategory' },
];

/** Daily cost per resource and meter subcategory for a month (one QPU each). */
export async function dailyCost(azure: AzureServices, type: CostType, timeframe: 'MonthToDate' | 'TheLastMonth'): Promise<CostRow[]> {
  const definition: QueryDefinition = { type, timeframe, dataset: { granularity: 'Daily', aggregation, grouping: byResourceAndMeter } };
  return parseCostTable(await azure.cost.query(definition));
}

/**
 * Whether reservations or savings plans touch the scope: their usage carries PricingModel
 * "Reservation"/"SavingsPlan" in ActualCost (at zero cost), and their purchases too.
 */
export async function usesCommitments(azure: AzureServices, from: number, to: number): Promise<string[]> {
  const table = await azure.cost.query({
    type: 'ActualCost',
    timeframe: 'Custom',
    timePeriod: { from: dayDate(from), to: endOfDay(to) },
    dataset: { granularity: 'None', aggregation, grouping: [{ type: 'Dimension', name: 'PricingModel' }] },
  });
  const at = table.columns.findIndex((c) => c.name.toLowerCase() === 'pricingmodel');
  if (at < 0) return [];
  const models = new Set(table.rows.map((r) => String(r[at] ?? '')));
  return [...models].filter((m) => /reservation|savingsplan|savings plan/i.test(m));
}

/** Resource ids (lower case) carrying the tag this month. */
export async function taggedResources(azure: AzureServices, type: CostType, tag: { name: string; value: string }): Promise<Set<string>> {
  const table = await azure.cost.query({
    type,
    timeframe: 'MonthToDate',
    dataset: {
      granularity: 'None',
      aggregation,
      grouping: [{ type: 'Dimension', name: 'ResourceId' }],
      filter: { tags: { name: tag.name, operator: 'In', values: [tag.value] } },
    },
  });
  return new Set(parseCostTable(table).map((r) => r.resourceId).filter(Boolean));
}

/** The Forecast API's daily cost from `from` to `to` (inclusive); rows of status Actual are left out. */
export async function forecastCost(azure: AzureServices, type: CostType, from: number, to: number): Promise<{ total: number; days: number; currency: string | null } | undefined> {
  const definition: ForecastDefinition = {
    type,
    timeframe: 'Custom',
    timePeriod: { from: dayDate(from), to: endOfDay(to) },
    dataset: { granularity: 'Daily', aggregation },
    includeActualCost: false,
    includeFreshPartialCost: false,
  };
  const table = await azure.cost.forecast(definition);
  const statusAt = table.columns.findIndex((c) => c.name.toLowerCase() === 'coststatus');
  const forecastRows = statusAt < 0 ? table.rows : table.rows.filter((r) => String(r[statusAt]).toLowerCase() === 'forecast');
  const rows = parseCostTable({ ...table, rows: forecastRows }).filter((r) => r.day === 0 || (r.day >= from && r.day <= to));
  if (rows.length === 0) return undefined;
  return { total: rows.reduce((s, r) => s + r.cost, 0), days: new Set(rows.map((r) => r.day)).size, currency: rows.find((r) => r.currency)?.currency ?? null };
}

const endOfDay = (day: number) => new Date(dayDate(day).getTime() + 86_399_000);
