/**
 * Fixed rate-limit windows, aligned to the epoch so that every instance (with a synchronised
 * clock) agrees on which window a request falls in. Window starts are the shared row key.
 */
export const WINDOWS = [
  { name: 'minute', seconds: 60 },
  { name: 'hour', seconds: 3600 },
] as const;
export type WindowName = (typeof WINDOWS)[number]['name'];

/** Start (ms since epoch) of the window of `seconds` containing `now`. */
export function windowStart(now: number, seconds: number): number {
  const size = seconds * 1000;
  return Math.floor(now / size) * size;
}

/** Whole seconds until that window ends (at least 1, as Retry-After wants). */
export function secondsUntilReset(now: number, seconds: number): number {
  return Math.max(1, Math.ceil((windowStart(now, seconds) + seconds * 1000 - now) / 1000));
}
