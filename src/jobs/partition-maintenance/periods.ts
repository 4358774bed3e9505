import { monthStart, monthlyPartitionName } from '../../platform/db/partitions.js';
import type { Interval } from './settings.js';

/** Start of the UTC period containing `d`, shifted by `offset` periods. */
export function periodStart(d: Date, interval: Interval, offset = 0): Date {
  if (interval === 'month') return monthStart(d, offset);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + offset));
}

/** <table>_pYYYY_MM for months, <table>_pYYYY_MM_DD for days. */
export function partitionName(table: string, start: Date, interval: Interval): string {
  const month = monthlyPartitionName(table, start);
  return interval === 'month' ? month : `${month}_${String(start.getUTCDate()).padStart(2, '0')}`;
}

export const KEY_TYPES = ['timestamp with time zone', 'date'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

/** A bound as SQL text for the key's type (sessions run in UTC). */
export function boundLiteral(d: Date, keyType: KeyType): string {
  return keyType === 'date' ? `'${d.toISOString().slice(0, 10)}'` : `'${d.toISOString().replace('T', ' ').replace('.000Z', '+00')}'`;
}

export const describePeriod = (start: Date, interval: Interval): string =>
  interval === 'month' ? start.toISOString().slice(0, 7) : start.toISOString().slice(0, 10);
