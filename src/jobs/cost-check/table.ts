import type { CostTable } from '../../platform/azure/index.js';

/** One row of a daily Cost Management answer grouped by resource and meter subcategory. */
export interface CostRow {
  /** UTC billing day as yyyymmdd, e.g. 20261129. */
  day: number;
  cost: number;
  resourceId: string;
  meter: string;
  currency: string | null;
}

export class CostTableError extends Error {
  override name = 'CostTableError';
}

/** Cost column names the service uses: `Cost` for ActualCost/AmortizedCost, `PreTaxCost` for the legacy Usage type. */
const COST_COLUMNS = ['cost', 'pretaxcost', 'totalcost'];

/**
 * Rows keyed by column name (the service orders columns as it likes). `UsageDate` arrives as a
 * number like 20261129 (or, from some endpoints, an ISO string); both are accepted.
 */
export function parseCostTable(table: CostTable): CostRow[] {
  if (table.rows.length === 0) return [];
  const index = new Map(table.columns.map((c, i) => [c.name.toLowerCase(), i]));
  const costAt = COST_COLUMNS.map((n) => index.get(n)).find((i) => i !== undefined);
  if (costAt === undefined) throw new CostTableError(`the answer has no cost column (columns: ${table.columns.map((c) => c.name).join(', ')})`);
  const dayAt = index.get('usagedate');
  const resourceAt = index.get('resourceid');
  const meterAt = index.get('metersubcategory') ?? index.get('metercategory');
  const currencyAt = index.get('currency') ?? index.get('billingcurrency');
  return table.rows.map((row, n) => {
    const cost = Number(row[costAt]);
    if (!Number.isFinite(cost)) throw new CostTableError(`row ${n + 1}: cost ${JSON.stringify(row[costAt])} is not a number`);
    const day = dayAt === undefined ? 0 : usageDay(row[dayAt], n);
    const text = (at: number | undefined) => (at === undefined || row[at] === null || row[at] === undefined ? '' : String(row[at]));
    return { day, cost, resourceId: text(resourceAt).toLowerCase(), meter: text(meterAt), currency: text(currencyAt) || null };
  });
}

function usageDay(value: unknown, n: number): number {
  if (typeof value === 'number' && Number.isInteger(value) && value > 19000101) return value;
  if (typeof value === 'string') {
    const m = /^(\d{4})-?(\d{2})-?(\d{2})/.exec(value);
    if (m) return Number(`${m[1]}${m[2]}${m[3]}`);
  }
  throw new CostTableError(`row ${n + 1}: UsageDate ${JSON.stringify(value)} is not a date like 20261129`);
}

// Billing days are UTC calendar days; these convert between yyyymmdd and Date at 00:00 UTC.
export const dayNumber = (d: Date): number => d.getUTCFullYear() * 10_000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
export const dayDate = (day: number): Date => new Date(Date.UTC(Math.floor(day / 10_000), (Math.floor(day / 100) % 100) - 1, day % 100));
export const dayText = (day: number): string => dayDate(day).toISOString().slice(0, 10);
export const addDays = (day: number, n: number): number => dayNumber(new Date(dayDate(day).getTime() + n * 86_400_000));
