import { restoreServerPrefix } from '../../shared/restore-servers.js';
import { z } from 'zod';
import { AzureOperationError, azureRequires, getAzure, type AzureServices } from '../../platform/azure/index.js';
import { defineJob, stepTimer, type Finding, type JobOutcome } from '../../shared/job.js';
import { errorMessage } from '../../platform/redact.js';
import { readSettings, type SettingsOf } from '../../platform/settings.js';
import { anomalies, calendar, componentTotals, dailyTotals, lineChanges, monthOverMonth, totals, type Calendar } from './analysis.js';
import { allocate, COMPONENT_LABELS, COMPONENTS, isComputeMeter, isRestoreServer, lineLabel, parseResourceId, PLAN_MONTHLY, type Component, type Deployment } from './components.js';
import { dailyCost, forecastCost, taggedResources, usesCommitments, type CostType } from './queries.js';
import { costCheckSettings } from './settings.js';
import { addDays, dayNumber, dayText, type CostRow } from './table.js';
import { manifest } from './manifest.js';

export { costCheckSettings } from './settings.js';

/** Complete days looked back on for anomalies, so a missed daily run still sees a spike. */
const ANOMALY_LOOKBACK_DAYS = 3;
/** Restore servers costing more than this share of the budget in a month are worth a look. */
const RESTORE_BUDGET_SHARE = 0.05;

const params = z.object({}).strict();

/** Plan section 9: the database's spend against its budget and last month, every day. */
export const costCheck = defineJob({
  ...manifest,
  params,
  settings: costCheckSettings,
  requires: azureRequires('cost'),
  async run(ctx) {
    const s = readSettings(costCheckSettings, ctx.env);
    const { azure, missing } = getAzure(ctx.services, 'cost');
    if (!azure) return { status: 'skipped', summary: `Azure not configured: set ${missing.join(', ')}` };
    const { steps, timed } = stepTimer();
    const now = ctx.now();
    const cal = calendar(now, s.dataLagHours);
    const notes: string[] = [];
    const scope = `/${azure.cost.scope}`;

    let costType: CostType;
    let commitments: string[] | undefined;
    if (s.costType === 'auto') {
      commitments = await timed('pricingModel', () => usesCommitments(azure, cal.lastMonthStart, dayNumber(now)));
      costType = commitments.length ? 'AmortizedCost' : 'ActualCost';
    } else costType = s.costType;

    const ha = await timed('server', () => highAvailability(azure));
    if (ha.note) notes.push(ha.note);
    let restoreIds = new Set<string>();
    if (s.restoreServerTag) {
      const tag = s.restoreServerTag;
      restoreIds = await timed('restoreTag', () => taggedResources(azure, costType, tag)).catch((err: unknown) => {
        notes.push(`restore servers by tag ${tag.name}=${tag.value} not queried (${errorMessage(err)}); matched by name prefix only`);
        return new Set<string>();
      });
    }
    const deployment: Deployment = {
      serverName: azure.settings.serverName,
      replicaName: azure.settings.replicaName,
      highAvailability: ha.enabled,
      restorePrefixes: [...s.restoreServerPrefixes, ...(azure.settings.serverName ? [restoreServerPrefix(azure.settings.serverName)] : [])],
      restoreResourceIds: restoreIds,
    };

    // One month per query keeps each at one QPU; sequential, since QPUs are counted per tenant.
    const lastMonthRows = await timed('lastMonth', () => dailyCost(azure, costType, 'TheLastMonth'));
    const thisMonthRows = await timed('monthToDate', () => dailyCost(azure, costType, 'MonthToDate'));
    const rows = [...lastMonthRows.filter((r) => r.day >= cal.lastMonthStart && r.day < cal.monthStart), ...thisMonthRows.filter((r) => r.day >= cal.monthStart)];

    const currencies = [...new Set(rows.map((r) => r.currency).filter((c): c is string => !!c))];
    if (currencies.length > 1) {
      return { status: 'failed', summary: `Cost Management answered in several currencies (${currencies.join(', ')}) for ${scope}; narrow DBOPS_COST_SCOPE to one billing account.`, steps };
    }
    const currency = currencies[0] ?? null;
    const money = moneyFormat(currency);
    const base = { currency: currency ?? undefined, budget: s.budgetAmount, costType, scope };
    if (rows.length === 0) {
      return {
        status: 'ok',
        summary: `No cost data for ${scope} yet (a new subscription or resource group, or usage not yet processed: it lags 8–24 h). Nothing to compare against the budget of ${money(s.budgetAmount)}.`,
        steps,
        data: { ...base, monthToDate: 0, projectedMonthEnd: 0, lastMonth: 0, noData: true, notes },
      };
    }

    const firstDataDay = Math.min(...rows.map((r) => r.day));
    const daily = dailyTotals(rows);
    const t = totals(daily, cal, firstDataDay);
    const perComponent = componentTotals(rows, cal, deployment, firstDataDay);
    const mom = monthOverMonth(daily, cal, firstDataDay);
    const monthEnd = addDays(cal.monthStart, cal.daysInMonth - 1);
    const forecast = await timed('forecast', () => forecastMonthEnd(azure, costType, cal, monthEnd, t.completeToDate)).catch((err: unknown) => {
      notes.push(`Forecast API unavailable (${errorMessage(err)})`);
      return undefined;
    });
    if (!cal.lastMonthFinal) notes.push('last month can still change until 72 h after it ended');
    if (cal.completeDays === 0) notes.push(`no complete day this month yet (data lags up to ${s.dataLagHours} h): the projection runs on the last days of last month`);

    const findings: Finding[] = [
      ...budgetFindings(s, t, forecast?.monthEnd, money, cal),
      ...increaseFindings(s, mom, money),
      ...anomalies(daily, cal, firstDataDay, { factor: s.anomalyFactor, minAmount: s.anomalyMinAmount, lookback: ANOMALY_LOOKBACK_DAYS }).map((a): Finding => ({
        check: 'cost.anomaly',
        severity: 'warning',
        target: `day:${dayText(a.day)}`,
        message: `${dayText(a.day)} cost ${money(a.cost)}, ${Number.isFinite(a.factor) ? `${a.factor.toFixed(1)} times` : 'far above'} the mean of the 7 days before it (${money(a.trailingMean)})`,
        value: round(a.cost),
        threshold: round(a.trailingMean * s.anomalyFactor),
        ...(currency ? { unit: currency } : {}),
        details: { trailingMean: round(a.trailingMean), rises: componentRises(rows, a.day, deployment) },
      })),
      ...lineFindings(rows, cal, firstDataDay, deployment, money),
      ...restoreFindings(rows, cal, deployment, s.budgetAmount, perComponent.restoreServers.monthToDate, money),
      ...savingsHints(s, rows, cal, deployment, perComponent, costType, commitments, money, currency),
      ...extendedSupportFindings(perComponent.extendedSupport, money, currency),
    ];

    const components = Object.fromEntries(
      COMPONENTS.filter((c) => perComponent[c].monthToDate !== 0 || perComponent[c].lastMonth !== 0).map((c) => [
        c,
        { label: COMPONENT_LABELS[c], monthToDate: round(perComponent[c].monthToDate), projectedMonthEnd: round(perComponent[c].projectedMonthEnd), lastMonth: round(perComponent[c].lastMonth) },
      ]),
    );
    const problems = findings.filter((f) => f.severity !== 'info');
    const outcome: JobOutcome = {
      summary:
        `${money(t.monthToDate)} month to date${cal.completeDays ? ` (complete through ${dayText(cal.lastCompleteDay)})` : ''}, projected ${money(t.projectedMonthEnd)} against a budget of ${money(s.budgetAmount)}; last month ${money(t.lastMonth)}${cal.lastMonthFinal ? '' : ' (not final yet)'}.` +
        (problems.length ? ` ${problems.map((f) => f.message).slice(0, 3).join('; ')}${problems.length > 3 ? '; …' : ''}.` : ''),
      findings,
      steps,
      data: {
        ...base,
        monthToDate: round(t.monthToDate),
        projectedMonthEnd: round(t.projectedMonthEnd),
        lastMonth: round(t.lastMonth),
        lastMonthFinal: cal.lastMonthFinal,
        completeThrough: dayText(cal.lastCompleteDay),
        completeDays: cal.completeDays,
        daysInMonth: cal.daysInMonth,
        runRate: round(t.runRate),
        runRateDays: t.runRateDays,
        forecastMonthEnd: forecast ? round(forecast.monthEnd) : null,
        monthOverMonth: mom ? { comparableDays: mom.comparableDays, thisMonth: round(mom.thisMonth), lastMonth: round(mom.lastMonth), increasePercent: round(mom.increasePercent) } : null,
        highAvailability: ha.mode,
        components,
        plannedMonthly: PLAN_MONTHLY.total,
        ...(commitments ? { commitments } : {}),
        notes,
      },
    };
    return outcome;
  },
});

type Settings = SettingsOf<typeof costCheckSettings>;

/** Extended-support charges, which only a major-version upgrade stops: said on their own line. */
function extendedSupportFindings(c: { monthToDate: number; projectedMonthEnd: number; lastMonth: number }, money: (n: number) => string, currency: string | null): Finding[] {
  if (c.monthToDate === 0 && c.lastMonth === 0) return [];
  return [
    {
      check: 'cost.extended-support',
      severity: 'warning',
      target: 'extendedSupport',
      message: `PostgreSQL extended support is billed: ${money(c.monthToDate)} this month (projected ${money(c.projectedMonthEnd)}), ${money(c.lastMonth)} last month; the server's major is past Azure's standard support`,
      value: round(c.projectedMonthEnd),
      ...(currency ? { unit: currency } : {}),
      remedy: 'Rehearse and run the major-version upgrade: dbops run version-upgrade --param plan=rehearse --param target=17 (docs/jobs/version-upgrade.md).',
    },
  ];
}
type Money = (amount: number) => string;

const round = (n: number) => Math.round(n * 100) / 100;

/** "USD 1,234.56"; with no currency in the data, the bare number (it is never assumed). */
export function moneyFormat(currency: string | null): Money {
  const n = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return (amount) => (currency ? `${currency} ${n.format(amount)}` : n.format(amount));
}

async function highAvailability(azure: AzureServices): Promise<{ enabled: boolean; mode: string; note?: string }> {
  if (!azure.settings.serverName || azure.missing('server').length) {
    return { enabled: false, mode: 'unknown', note: 'DBOPS_AZURE_SERVER_NAME not set: the HA standby is not separated from the primary' };
  }
  try {
    const server = await azure.postgres.getServer();
    const mode = server.highAvailability?.mode ?? 'Disabled';
    return { enabled: mode !== 'Disabled', mode };
  } catch (err) {
    return { enabled: false, mode: 'unknown', note: `server not readable (${errorMessage(err)}): the HA standby is not separated from the primary` };
  }
}

async function forecastMonthEnd(azure: AzureServices, costType: CostType, cal: Calendar, monthEnd: number, completeToDate: number) {
  const from = Math.max(addDays(cal.lastCompleteDay, 1), cal.monthStart);
  if (from > monthEnd) return undefined;
  try {
    const f = await forecastCost(azure, costType, from, monthEnd);
    return f ? { monthEnd: completeToDate + f.total, days: f.days } : undefined;
  } catch (err) {
    // Too little history: the service answers 4xx (or 204) rather than a forecast.
    if (err instanceof AzureOperationError && err.status !== undefined && err.status < 500 && err.status !== 429) return undefined;
    throw err;
  }
}

function budgetFindings(s: Settings, t: ReturnType<typeof totals>, forecast: number | undefined, money: Money, cal: Calendar): Finding[] {
  const details = {
    completeToDate: round(t.completeToDate),
    runRatePerDay: round(t.runRate),
    runRateDays: t.runRateDays,
    daysLeft: cal.daysInMonth - cal.completeDays,
    forecastMonthEnd: forecast === undefined ? null : round(forecast),
  };
  if (t.monthToDate > s.budgetAmount) {
    return [{ check: 'cost.budget.actual', severity: 'critical', target: 'budget', message: `month-to-date cost ${money(t.monthToDate)} is over the budget of ${money(s.budgetAmount)}`, value: round(t.monthToDate), threshold: s.budgetAmount, details }];
  }
  if (t.projectedMonthEnd > s.budgetAmount) {
    return [
      {
        check: 'cost.budget.projected',
        severity: 'warning',
        target: 'budget',
        message: `projected month-end ${money(t.projectedMonthEnd)} is over the budget of ${money(s.budgetAmount)} (${money(t.completeToDate)} on ${cal.completeDays} complete days + ${money(t.runRate)}/day × ${details.daysLeft} days)`,
        value: round(t.projectedMonthEnd),
        threshold: s.budgetAmount,
        details,
      },
    ];
  }
  if (forecast !== undefined && forecast > s.budgetAmount) {
    return [{ check: 'cost.budget.forecast', severity: 'info', target: 'budget', message: `the Forecast API expects ${money(forecast)} by month-end, over the budget of ${money(s.budgetAmount)}; the run rate of complete days says ${money(t.projectedMonthEnd)}`, value: round(forecast), threshold: s.budgetAmount, details }];
  }
  return [];
}

function increaseFindings(s: Settings, mom: ReturnType<typeof monthOverMonth>, money: Money): Finding[] {
  if (!mom || mom.increasePercent <= s.increasePercent) return [];
  return [
    {
      check: 'cost.increase',
      severity: 'warning',
      target: 'month-over-month',
      message: `cost is up ${mom.increasePercent.toFixed(1)} % on last month over the same ${mom.comparableDays} day(s) (${money(mom.thisMonth)} against ${money(mom.lastMonth)})`,
      value: round(mom.increasePercent),
      threshold: s.increasePercent,
      unit: '%',
    },
  ];
}

/** Which components rose most on `day` against their own 7-day mean: the lead for an anomaly. */
function componentRises(rows: readonly CostRow[], day: number, deployment: Deployment): Array<{ component: string; cost: number; trailingMean: number }> {
  const from = addDays(day, -7);
  const sums = new Map<Component, { day: number; before: number }>();
  for (const r of rows) {
    if (r.day < from || r.day > day) continue;
    for (const [c, share] of allocate(r.resourceId, r.meter, deployment)) {
      const e = sums.get(c) ?? { day: 0, before: 0 };
      if (r.day === day) e.day += r.cost * share;
      else e.before += r.cost * share;
      sums.set(c, e);
    }
  }
  return [...sums.entries()]
    .map(([c, e]) => ({ component: COMPONENT_LABELS[c], cost: round(e.day), trailingMean: round(e.before / 7), rise: e.day - e.before / 7 }))
    .filter((e) => e.rise > 0)
    .sort((a, b) => b.rise - a.rise)
    .slice(0, 3)
    .map(({ component, cost, trailingMean }) => ({ component, cost, trailingMean }));
}

function lineFindings(rows: readonly CostRow[], cal: Calendar, firstDataDay: number, deployment: Deployment, money: Money): Finding[] {
  const skip = (r: CostRow) => isRestoreServer(r.resourceId, parseResourceId(r.resourceId).name, deployment);
  const { added, gone } = lineChanges(rows, cal, firstDataDay, skip);
  const componentOf = (l: { resourceId: string; meter: string }) => allocate(l.resourceId, l.meter, deployment)[0]![0];
  // A server appearing or vanishing (compute) matters more than a meter that comes and goes.
  const severity = (l: { resourceId: string; meter: string }) => (['primaryCompute', 'replica'].includes(componentOf(l)) && isComputeMeter(l.meter) ? 'warning' : 'info');
  return [
    ...added.map((l): Finding => ({
      check: 'cost.component.new',
      severity: severity(l),
      target: lineLabel(l.resourceId, l.meter),
      message: `new cost line ${lineLabel(l.resourceId, l.meter)} (${COMPONENT_LABELS[componentOf(l)]}): ${money(l.amount)} this month, nothing last month`,
      value: round(l.amount),
      details: { resourceId: l.resourceId, meter: l.meter },
    })),
    ...gone.map((l): Finding => ({
      check: 'cost.component.gone',
      severity: severity(l),
      target: lineLabel(l.resourceId, l.meter),
      message: `cost line ${lineLabel(l.resourceId, l.meter)} (${COMPONENT_LABELS[componentOf(l)]}) stopped: about ${money(l.amount)}/day before, nothing on the last 2 complete days`,
      value: round(l.amount),
      details: { resourceId: l.resourceId, meter: l.meter },
    })),
  ];
}

function restoreFindings(rows: readonly CostRow[], cal: Calendar, deployment: Deployment, budget: number, monthToDate: number, money: Money): Finding[] {
  if (monthToDate <= 0) return [];
  const servers = new Map<string, { cost: number; days: Set<number> }>();
  for (const r of rows) {
    const name = parseResourceId(r.resourceId).name;
    if (r.day < cal.monthStart || r.cost <= 0 || !isRestoreServer(r.resourceId, name, deployment)) continue;
    const e = servers.get(name) ?? { cost: 0, days: new Set<number>() };
    e.cost += r.cost;
    e.days.add(r.day);
    servers.set(name, e);
  }
  const previous = addDays(cal.lastCompleteDay, -1);
  const lingering = [...servers.entries()].filter(([, e]) => e.days.has(cal.lastCompleteDay) && e.days.has(previous)).map(([n]) => n);
  const costly = monthToDate > budget * RESTORE_BUDGET_SHARE;
  const list = [...servers.entries()].map(([n, e]) => `${n} ${money(e.cost)}`).join(', ');
  return [
    {
      check: 'cost.restore-servers',
      severity: lingering.length || costly ? 'warning' : 'info',
      target: 'backup-verification',
      message: lingering.length
        ? `restore-test server(s) ${lingering.join(', ')} billed on each of the last 2 complete days: left running? (${money(monthToDate)} this month)`
        : costly
          ? `restore-test servers cost ${money(monthToDate)} this month, over ${RESTORE_BUDGET_SHARE * 100} % of the budget (${list})`
          : `restore-test servers cost ${money(monthToDate)} this month (${list})`,
      value: round(monthToDate),
      threshold: round(budget * RESTORE_BUDGET_SHARE),
      details: { servers: Object.fromEntries([...servers.entries()].map(([n, e]) => [n, { cost: round(e.cost), days: [...e.days].sort().map(dayText) }])) },
    },
  ];
}

function savingsHints(
  s: Settings,
  rows: readonly CostRow[],
  cal: Calendar,
  deployment: Deployment,
  perComponent: Record<Component, { projectedMonthEnd: number; runRate: number }>,
  costType: CostType,
  commitments: string[] | undefined,
  money: Money,
  currency: string | null,
): Finding[] {
  const out: Finding[] = [];
  const unit = currency ? { unit: currency } : {};
  if (!commitments?.length) {
    // Reserved capacity discounts compute only: the primary's (with its standby) and the replica's vCores.
    const computeRows = rows.filter((r) => isComputeMeter(r.meter) && allocate(r.resourceId, r.meter, { ...deployment, highAvailability: false }).some(([c]) => c === 'primaryCompute' || c === 'replica'));
    const rate = totals(dailyTotals(computeRows), cal, computeRows.length ? Math.min(...computeRows.map((r) => r.day)) : undefined).runRate;
    const monthlyCompute = rate * cal.daysInMonth;
    if (monthlyCompute > 0) {
      const saving = (monthlyCompute * s.reservedDiscountPercent) / 100;
      out.push({
        check: 'cost.savings.reserved-capacity',
        severity: 'info',
        target: 'compute',
        message: `reserved capacity: compute (primary, HA standby and replica vCores) runs at about ${money(monthlyCompute)} a month; at ${s.reservedDiscountPercent} % off that is about ${money(saving)} a month (${money(saving * 12)} a year)`,
        value: round(saving),
        ...unit,
        details: { monthlyCompute: round(monthlyCompute), discountPercent: s.reservedDiscountPercent, costType },
        remedy: 'Buy Azure Database for PostgreSQL reserved capacity for the primary\'s and the replica\'s vCores (1 or 3 years) in their regions.',
      });
    }
  }
  if (perComponent.backupStorage.projectedMonthEnd > 0) {
    out.push({
      check: 'cost.savings.backup-storage',
      severity: 'info',
      target: 'backupStorage',
      message: `backup storage is billed (about ${money(perComponent.backupStorage.projectedMonthEnd)} this month): backups exceed the free allowance of the provisioned storage size`,
      value: round(perComponent.backupStorage.projectedMonthEnd),
      ...unit,
      remedy: 'Review backup retention (the plan keeps 35 days) and geo-redundancy, and clean up log data that inflates the backups.',
    });
  }
  if (perComponent.monitoring.projectedMonthEnd > PLAN_MONTHLY.monitoring) {
    out.push({
      check: 'cost.savings.monitoring',
      severity: 'info',
      target: 'monitoring',
      message: `monitoring is projected at ${money(perComponent.monitoring.projectedMonthEnd)} this month, above the plan's ${PLAN_MONTHLY.monitoring}`,
      value: round(perComponent.monitoring.projectedMonthEnd),
      threshold: PLAN_MONTHLY.monitoring,
      ...unit,
      remedy: 'Review the diagnostic-setting log categories and the Log Analytics retention of the server logs.',
    });
  }
  return out;
}
