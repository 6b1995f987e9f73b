import type { RateLimitOverrides } from '../keys/key-store.js';

/** Every limit the service enforces, with the defaults an operator gets. */
export interface LimitSettings {
  /** Requests per key per fixed minute / hour when the key has no override. */
  readonly keyPerMinute: number;
  readonly keyPerHour: number;
  /** Registration attempts per client address per fixed hour (in memory, per instance). */
  readonly registrationsPerIpPerHour: number;
  /** Refused keys per client address per window before it must wait (in memory, per instance). */
  readonly failedAuthPerIp: number;
  readonly failedAuthWindowSeconds: number;
  /** Key checks that may cost bcrypt (first uses, wrong secrets) in flight per client address; the excess is 429 at once. */
  readonly keyChecksInFlightPerIp: number;
  /** How often each instance adds its request counts to PostgreSQL and reads the totals back. */
  readonly syncIntervalMs: number;
}

export const DEFAULT_LIMITS: LimitSettings = Object.freeze({
  keyPerMinute: 300,
  keyPerHour: 10_000,
  registrationsPerIpPerHour: 20,
  failedAuthPerIp: 20,
  failedAuthWindowSeconds: 300,
  keyChecksInFlightPerIp: 3,
  syncIntervalMs: 1_000,
});

/** A key's limits in force: its overrides, else the defaults. */
export interface KeyLimits {
  perMinute: number;
  perHour: number;
}

export function effectiveKeyLimits(overrides: RateLimitOverrides, settings: Pick<LimitSettings, 'keyPerMinute' | 'keyPerHour'>): KeyLimits {
  return { perMinute: overrides.perMinute ?? settings.keyPerMinute, perHour: overrides.perHour ?? settings.keyPerHour };
}
