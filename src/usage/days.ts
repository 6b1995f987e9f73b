import { InvalidRequestError } from '../errors.js';

/** Usage is kept per UTC day; a report covers whole days, both ends included. */

/** The longest range one report may cover. */
export const MAX_RANGE_DAYS = 366;
/** A report without `from` covers this many days, ending with `to` (default today). */
export const DEFAULT_RANGE_DAYS = 30;

const DAY_MS = 24 * 60 * 60 * 1000;

export interface DayRange {
  /** `YYYY-MM-DD`, inclusive. */
  from: string;
  /** `YYYY-MM-DD`, inclusive. */
  to: string;
}

/** `YYYY-MM-DD` of the UTC day `date` falls on. */
export function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** True for a real calendar date written `YYYY-MM-DD` (so 2023-02-29 is not one). */
export function isDay(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const parsed = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && utcDay(parsed) === value;
}

function addDays(day: string, days: number): string {
  return utcDay(new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS));
}

/**
 * Fills in the defaults (`to` = today, `from` = 30 days ending with `to`) and refuses what would
 * be a surprise: malformed or impossible dates, `from` after `to`, more than {@link MAX_RANGE_DAYS} days.
 */
export function resolveDayRange(input: { from?: string | undefined; to?: string | undefined }, today: string): DayRange {
  for (const [name, value] of Object.entries(input)) {
    if (value !== undefined && !isDay(value)) throw new InvalidRequestError(`${name} must be a calendar date written YYYY-MM-DD.`);
  }
  const to = input.to ?? today;
  const from = input.from ?? addDays(to, -(DEFAULT_RANGE_DAYS - 1));
  if (from > to) throw new InvalidRequestError(`from (${from}) is after to (${to}).`);
  const days = (Date.parse(to) - Date.parse(from)) / DAY_MS + 1;
  if (days > MAX_RANGE_DAYS) throw new InvalidRequestError(`The range covers ${days} days; ask for at most ${MAX_RANGE_DAYS} at a time.`);
  return { from, to };
}
