import { TooManyRequestsError } from '../errors.js';
import type { ApiKeyRecord } from '../keys/key-store.js';
import type { KeyRateLimiter, RateDecision } from '../limits/key-rate-limiter.js';
import { effectiveKeyLimits, type LimitSettings } from '../limits/settings.js';

export interface BatchCharge {
  /**
   * Charges a JSON-RPC batch of `messages` to the key that sent it: its request already took one
   * from the key's limit when it was authenticated, each further message takes one more. All or
   * nothing: the decision is refused (and nothing of the batch counts) when they do not all fit.
   */
  (key: ApiKeyRecord, messages: number): RateDecision;
}

/**
 * A batch is one HTTP request but as many tool calls as it has messages: counted as one, a key
 * limited to 5 requests a minute made 500 tool calls in five batches of 100 (issue 18, item 3).
 */
export function createBatchCharge(deps: { limiter: KeyRateLimiter; limits: Pick<LimitSettings, 'keyPerMinute' | 'keyPerHour'> }): BatchCharge {
  return (key, messages) => {
    const decision = deps.limiter.take(key.id, effectiveKeyLimits(key.rateLimit, deps.limits), Date.now(), messages - 1);
    if (decision.allowed) return decision;
    // Refused requests do not count (docs/api.md): give back the one the request itself took.
    if (deps.limiter.untake(key.id)) decision.remaining = Math.min(decision.limit, decision.remaining + 1);
    return decision;
  };
}

/** The 429 for a batch with more messages than the key has requests left (the contract's error shape, Retry-After). */
export function batchTooLargeError(decision: RateDecision, messages: number): TooManyRequestsError {
  return new TooManyRequestsError(
    `This batch has ${messages} messages and each counts as a request: this API key has ${decision.remaining} left of its limit of ` +
      `${decision.limit} requests per ${decision.window}. Nothing in the batch was run. Send fewer at once, or try again in ${decision.resetSeconds} s.`,
    decision.resetSeconds,
  );
}
