import { allocate, COMPONENTS, type Component, type Deployment } from './components.js';
import { addDays, dayDate, dayNumber, type CostRow } from './table.js';

/** Days whose trailing mean makes the run rate and the anomaly baseline. */
export const TRAILING_DAYS = 7;

export interface Calendar {
  /** First day of the current month (yyyymmdd). */
  monthStart: number;
  daysInMonth: number;
  lastMonthStart: number;
  daysInLastMonth: number;
  /** Latest day whose data is complete (may fall in last month early in a month). */
  lastCompleteDay: number;
  /** Complete days of the current month (0 on its first day or two). */
  completeDays: number;
  /** Last month can still change until ~72 h after it ends. */
  lastMonthFinal: boolean;
}

/** A day is complete once it has ended and the data lag has passed. */
export function calendar(now: Date, lagHours: number): Calendar {
  const monthStartDate = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const lastMonthStartDate = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  const daysInMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0)).getUTCDate();
  const daysInLastMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 0)).getUTCDate();
  const lastCompleteDay = dayNumber(new Date(now.getTime() - (24 + lagHours) * 3_600_000));
  const monthStart = dayNumber(monthStartDate);
  const completeDays = lastCompleteDay >= monthStart ? (lastCompleteDay % 100) : 0;
  return {
    monthStart,
    daysInMonth,
    lastMonthStart: dayNumber(lastMonthStartDate),
    daysInLastMonth,
    lastCompleteDay,
    completeDays,
    lastMonthFinal: now.getTime() - monthStartDate.getTime() >= 72 * 3_600_000,
  };
}

export interface Totals {
  /** Every row of the current month, complete or not: the actual spend so far. */
  monthToDate: number;
  /** The current month's complete days only. */
  completeToDate: number;
  /** Mean daily cost of the last TRAILING_DAYS complete days (reaching into last month if needed). */
  runRate: number;
  runRateDays: number;
  /** completeToDate + runRate × the days left (incomplete ones included); never below monthToDate. */
  projectedMonthEnd: number;
  lastMonth: number;
}

export type DailyTotals = Map<number, number>;

export function dailyTotals(rows: readonly CostRow[], pick: (row: CostRow) => number = (r) => r.cost): DailyTotals {
  const out: DailyTotals = new Map();
  for (const r of rows) out.set(r.day, (out.get(r.day) ?? 0) + pick(r));
  return out;
}

const sumDays = (daily: DailyTotals, from: number, to: number): number => {
  let total = 0;
  for (const [day, cost] of daily) if (day >= from && day <= to) total += cost;
  return total;
};

export function totals(daily: DailyTotals, cal: Calendar, firstDataDay: number | undefined): Totals {
  const monthEnd = addDays(cal.monthStart, cal.daysInMonth - 1);
  const monthToDate = sumDays(daily, cal.monthStart, monthEnd);
  const completeToDate = cal.completeDays > 0 ? sumDays(daily, cal.monthStart, cal.lastCompleteDay) : 0;
  // The run rate averages over the days there was data for: a server created four days ago has a four-day rate.
  const windowStart = Math.max(addDays(cal.lastCompleteDay, -(TRAILING_DAYS - 1)), firstDataDay ?? Number.MAX_SAFE_INTEGER);
  const runRateDays = windowStart <= cal.lastCompleteDay ? daysBetween(windowStart, cal.lastCompleteDay) + 1 : 0;
  const runRate = runRateDays > 0 ? sumDays(daily, windowStart, cal.lastCompleteDay) / runRateDays : 0;
  const projected = completeToDate + runRate * (cal.daysInMonth - cal.completeDays);
  return {
    monthToDate,
    completeToDate,
    runRate,
    runRateDays,
    projectedMonthEnd: Math.max(projected, monthToDate),
    lastMonth: sumDays(daily, cal.lastMonthStart, addDays(cal.monthStart, -1)),
  };
}

export const daysBetween = (from: number, to: number): number => Math.round((dayDate(to).getTime() - dayDate(from).getTime()) / 86_400_000);

export interface MonthOverMonth {
  comparableDays: number;
  thisMonth: number;
  lastMonth: number;
  /** Change of the mean daily cost over the comparable days, in percent. */
  increasePercent: number;
}

/**
 * The current month's complete days against the same days of last month; when last month is
 * shorter, its days run out first, so the means per day are compared. Undefined when there is
 * nothing to compare: no complete day yet, or last month's data starts after its first day.
 */
export function monthOverMonth(daily: DailyTotals, cal: Calendar, firstDataDay: number | undefined): MonthOverMonth | undefined {
  if (cal.completeDays === 0 || firstDataDay === undefined || firstDataDay > cal.lastMonthStart) return undefined;
  const lastDays = Math.min(cal.completeDays, cal.daysInLastMonth);
  const thisMonth = sumDays(daily, cal.monthStart, cal.lastCompleteDay);
  const lastMonth = sumDays(daily, cal.lastMonthStart, addDays(cal.lastMonthStart, lastDays - 1));
  if (lastMonth <= 0) return undefined;
  const increasePercent = ((thisMonth / cal.completeDays - lastMonth / lastDays) / (lastMonth / lastDays)) * 100;
  return { comparableDays: cal.completeDays, thisMonth, lastMonth, increasePercent };
}

export interface Anomaly {
  day: number;
  cost: number;
  trailingMean: number;
  factor: number;
}

/**
 * Complete days among the latest `lookback` whose cost exceeds `factor` × the mean of the 7 days
 * before it, by at least `minAmount`. A day needs 7 days of history before it (from the first day
 * with data), so a new subscription's first week is not an anomaly.
 */
export function anomalies(daily: DailyTotals, cal: Calendar, firstDataDay: number | undefined, opts: { factor: number; minAmount: number; lookback: number }): Anomaly[] {
  if (firstDataDay === undefined) return [];
  const out: Anomaly[] = [];
  for (let back = opts.lookback - 1; back >= 0; back--) {
    const day = addDays(cal.lastCompleteDay, -back);
    const from = addDays(day, -TRAILING_DAYS);
    if (from < firstDataDay) continue;
    const trailingMean = sumDays(daily, from, addDays(day, -1)) / TRAILING_DAYS;
    const cost = daily.get(day) ?? 0;
    if (cost > opts.factor * trailingMean && cost - trailingMean >= opts.minAmount) {
      out.push({ day, cost, trailingMean, factor: trailingMean > 0 ? cost / trailingMean : Number.POSITIVE_INFINITY });
    }
  }
  return out;
}

export interface ComponentTotals {
  monthToDate: number;
  projectedMonthEnd: number;
  lastMonth: number;
  runRate: number;
}

/** The month's figures per component (a line's cost split as `allocate` says). */
export function componentTotals(rows: readonly CostRow[], cal: Calendar, deployment: Deployment, firstDataDay: number | undefined): Record<Component, ComponentTotals> {
  const perComponent = new Map<Component, DailyTotals>(COMPONENTS.map((c) => [c, new Map()]));
  for (const row of rows) {
    for (const [component, share] of allocate(row.resourceId, row.meter, deployment)) {
      const daily = perComponent.get(component)!;
      daily.set(row.day, (daily.get(row.day) ?? 0) + row.cost * share);
    }
  }
  const out = {} as Record<Component, ComponentTotals>;
  for (const component of COMPONENTS) {
    const t = totals(perComponent.get(component)!, cal, firstDataDay);
    out[component] = { monthToDate: t.monthToDate, projectedMonthEnd: t.projectedMonthEnd, lastMonth: t.lastMonth, runRate: t.runRate };
  }
  return out;
}

export interface LineChange {
  resourceId: string;
  meter: string;
  /** New: this month's complete-day cost. Disappeared: the mean daily cost it had. */
  amount: number;
}

const lineKey = (r: CostRow) => `${r.resourceId}\u0000${r.meter}`;

/**
 * New lines: billed on the current month's complete days, never last month (only judged when
 * last month has data from its first day). Disappeared lines: billed on at least 5 of the 7
 * days before the latest two complete days, and on neither of those two.
 */
export function lineChanges(rows: readonly CostRow[], cal: Calendar, firstDataDay: number | undefined, skip: (r: CostRow) => boolean): { added: LineChange[]; gone: LineChange[] } {
  const added: LineChange[] = [];
  const gone: LineChange[] = [];
  if (firstDataDay === undefined) return { added, gone };
  const recentFrom = addDays(cal.lastCompleteDay, -1);
  const steadyFrom = addDays(cal.lastCompleteDay, -(TRAILING_DAYS + 1));
  const lines = new Map<string, { resourceId: string; meter: string; lastMonth: number; thisMonth: number; steadyDays: Set<number>; steadyCost: number; recent: number }>();
  for (const r of rows) {
    if (r.cost <= 0 || skip(r) || r.day > cal.lastCompleteDay) continue;
    const key = lineKey(r);
    const line = lines.get(key) ?? { resourceId: r.resourceId, meter: r.meter, lastMonth: 0, thisMonth: 0, steadyDays: new Set<number>(), steadyCost: 0, recent: 0 };
    lines.set(key, line);
    if (r.day < cal.monthStart) line.lastMonth += r.cost;
    else line.thisMonth += r.cost;
    if (r.day >= recentFrom) line.recent += r.cost;
    else if (r.day >= steadyFrom) {
      line.steadyDays.add(r.day);
      line.steadyCost += r.cost;
    }
  }
  const judgeNew = cal.completeDays > 0 && firstDataDay <= cal.lastMonthStart;
  const judgeGone = steadyFrom >= firstDataDay;
  for (const line of lines.values()) {
    if (judgeNew && line.thisMonth > 0 && line.lastMonth === 0) added.push({ resourceId: line.resourceId, meter: line.meter, amount: line.thisMonth });
    if (judgeGone && line.recent === 0 && line.steadyDays.size >= 5) gone.push({ resourceId: line.resourceId, meter: line.meter, amount: line.steadyCost / line.steadyDays.size });
  }
  return { added, gone };
}
