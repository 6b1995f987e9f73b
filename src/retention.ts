/**
 * How long housekeeping keeps what grows without bound. 0 days keeps usage or audit rows forever;
 * expired OAuth artefacts (connect states, authorization requests, codes, sessions, tokens) go
 * `expiredHours` after their expiry.
 */
export interface Retention {
  readonly usageDays: number;
  readonly auditDays: number;
  readonly expiredHours: number;
}

/** A bit more than a year of usage (year-on-year reports), a year of audit, expired rows at once. */
export const RETENTION_DEFAULTS: Retention = Object.freeze({ usageDays: 400, auditDays: 365, expiredHours: 0 });
