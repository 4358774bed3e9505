import { RESTORE_PURPOSE } from '../../shared/restore-servers.js';
import { z } from 'zod';
import { int, list, num, setting } from '../../platform/settings.js';

/** `name=value` → a tag filter; empty disables it. */
const tagFilter = () =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const text = (v ?? '').trim();
      if (text === '' || text === 'none') return undefined;
      const eq = text.indexOf('=');
      if (eq <= 0 || eq === text.length - 1) {
        ctx.addIssue({ code: 'custom', message: 'expected name=value, e.g. purpose=dbops-restore-test (or "none")' });
        return z.NEVER;
      }
      return { name: text.slice(0, eq).trim(), value: text.slice(eq + 1).trim() };
    });

export const costCheckSettings = {
  budgetAmount: setting({
    env: 'DBOPS_BUDGET_AMOUNT',
    doc: 'Monthly budget of the database resources, in the billing currency. Projected month-end above it is a warning; month-to-date above it is critical.',
    default: '1600',
    plan: '9.2.1',
    schema: num(1, 100_000_000),
  }),
  increasePercent: setting({
    env: 'DBOPS_COST_INCREASE_PERCENT',
    doc: 'Month-over-month increase (same complete days of both months) that makes a warning.',
    default: '20',
    plan: '9.2.1',
    schema: num(1, 10_000),
  }),
  anomalyFactor: setting({
    env: 'DBOPS_COST_ANOMALY_FACTOR',
    doc: "A day's cost above this many times the mean of the 7 days before it is an anomaly (with at least DBOPS_COST_ANOMALY_MIN_AMOUNT more than that mean).",
    default: '1.5',
    schema: num(1.05, 100),
  }),
  anomalyMinAmount: setting({
    env: 'DBOPS_COST_ANOMALY_MIN_AMOUNT',
    doc: 'Smallest excess over the 7-day mean, in the billing currency, that counts as an anomaly; keeps cent-sized wobbles quiet.',
    default: '10',
    schema: num(0, 1_000_000),
  }),
  costType: setting({
    env: 'DBOPS_COST_TYPE',
    doc: 'Cost view: ActualCost, AmortizedCost, or auto (AmortizedCost when reservation or savings-plan usage appears in the PricingModel of last month or this month, so a reservation purchase does not show up as a one-day spike).',
    default: 'auto',
    schema: z.enum(['auto', 'ActualCost', 'AmortizedCost'], { message: 'expected auto, ActualCost or AmortizedCost' }),
  }),
  dataLagHours: setting({
    env: 'DBOPS_COST_DATA_LAG_HOURS',
    doc: "Hours after a day ends before its cost counts as complete (Cost Management lags 8–24 h). Projections and comparisons use complete days only.",
    default: '24',
    schema: int(0, 96),
  }),
  restoreServerPrefixes: setting({
    env: 'DBOPS_COST_RESTORE_SERVER_PREFIXES',
    doc: "Comma-separated name prefixes of temporary restore servers, besides backup-verification's own (<server>-rt-…, always matched); their cost is reported apart (it should be small and end the same day).",
    default: '',
    schema: list(),
  }),
  restoreServerTag: setting({
    env: 'DBOPS_COST_RESTORE_TAG',
    doc: "Tag (name=value) of backup-verification's temporary restore servers, found with one extra tag-filtered query; \"none\" skips it.",
    default: `purpose=${RESTORE_PURPOSE}`,
    schema: tagFilter(),
  }),
  reservedDiscountPercent: setting({
    env: 'DBOPS_COST_RESERVED_DISCOUNT_PERCENT',
    doc: 'Discount the reserved-capacity hint assumes on compute: the plan\'s ~30 % (1-year); Microsoft cites up to 65 % for 3 years.',
    default: '30',
    plan: '9.1.2',
    schema: num(1, 90),
  }),
};
