import { CronExpressionParser } from 'cron-parser';
import type { Env } from '../platform/settings.js';
import type { Schedule } from './job.js';

export class ScheduleError extends Error {
  override name = 'ScheduleError';
}

/**
 * Validates a six-field NCRONTAB expression ({second} {minute} {hour} {day} {month} {day-of-week},
 * UTC) as Azure Functions timers take it, and returns its next occurrences.
 */
export function parseNcrontab(expression: string, source: string, count = 1, from = new Date()): Date[] {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 6) {
    throw new ScheduleError(
      `${source}="${expression}" has ${fields.length} fields; Azure Functions timers take six (second minute hour day month day-of-week, UTC), e.g. "0 */5 * * * *" for every five minutes.`,
    );
  }
  try {
    const it = CronExpressionParser.parse(expression, { tz: 'UTC', currentDate: from });
    return Array.from({ length: count }, () => it.next().toDate());
  } catch (err) {
    throw new ScheduleError(`${source}="${expression}" is not a valid NCRONTAB expression: ${(err as Error).message}`);
  }
}

/** The schedule in force: the setting if set, else the plan's default; validated either way. */
export function resolveSchedule(schedule: Schedule, env: Env): string {
  const value = env[schedule.setting]?.trim() || schedule.default;
  parseNcrontab(value, schedule.setting);
  return value;
}
