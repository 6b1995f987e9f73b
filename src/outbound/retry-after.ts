/**
 * Seconds to wait, from a `Retry-After` header (RFC 9110 §10.2.3): either delay-seconds or an
 * HTTP-date. undefined when absent or unreadable; a date in the past means 0.
 */
export function retryAfterSeconds(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  // Every HTTP-date form starts with the weekday, which keeps Date.parse away from odd numbers.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}
