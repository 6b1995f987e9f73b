/**
 * Bounds on everything the server waits for from an upstream. A user's tool call must end in
 * bounded time whatever the upstream does, and a wedged upstream must not pin database locks.
 */
export interface UpstreamLimits {
  /** Each API request a tool makes, reading the response included. */
  apiTimeoutMs: number;
  /** Each request to a token or revocation endpoint; also bounds how long a refresh holds its row lock. */
  tokenTimeoutMs: number;
  /**
   * Pauses between attempts when a refresh the call cannot do without (the token has expired or
   * was refused) fails transiently: network, timeout, 5xx, 429. Its length + 1 is the attempt count.
   */
  refreshRetryDelaysMs: readonly number[];
  /**
   * Token refreshes one process runs at once. Each holds a database connection across its token
   * request, so this keeps the rest of the pool (10) free when a token endpoint is slow.
   */
  refreshConcurrency: number;
  /**
   * The whole tool call: refresh, upstream request and retries together (deadline.ts). Above the
   * API timeout, so one slow answer still fits; well below what a client gives up after.
   */
  callTimeoutMs: number;
}

export const DEFAULT_UPSTREAM_LIMITS: Readonly<UpstreamLimits> = Object.freeze({
  apiTimeoutMs: 30_000,
  tokenTimeoutMs: 10_000,
  refreshRetryDelaysMs: Object.freeze([250, 1_000]),
  refreshConcurrency: 4,
  callTimeoutMs: 40_000,
});

/** The defaults, with any overrides (tests shorten the timeouts; production uses the defaults). */
export function upstreamLimits(overrides: Partial<UpstreamLimits> = {}): Readonly<UpstreamLimits> {
  return Object.freeze({ ...DEFAULT_UPSTREAM_LIMITS, ...overrides });
}
