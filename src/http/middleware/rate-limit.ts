import type { RequestHandler } from 'express';
import { TooManyRequestsError } from '../../errors.js';
import type { IpLimiter } from '../../limits/ip-limiter.js';
import type { RateDecision } from '../../limits/key-rate-limiter.js';

/**
 * Rate-limit headers in the IETF httpapi draft's separate-field form (draft-ietf-httpapi-ratelimit-headers-06,
 * express-rate-limit's `draft-6`): `RateLimit-Limit`, `RateLimit-Remaining`,
 * `RateLimit-Reset` (delta seconds) for the window closest to its limit, and `RateLimit-Policy`
 * listing every window (`300;w=60, 10000;w=3600`).
 */
export function rateLimitHeaders(decision: RateDecision): Record<string, string> {
  const list = rateLimitHeaderList(decision);
  const headers: Record<string, string> = {};
  for (let i = 0; i < list.length; i += 2) headers[list[i] as string] = list[i + 1] as string;
  return headers;
}

/** The same headers as a flat `[name, value, …]` list, the form `writeHead()` takes on the /mcp hot path. */
export function rateLimitHeaderList(decision: RateDecision): string[] {
  return [
    'RateLimit-Limit', String(decision.limit),
    'RateLimit-Remaining', String(decision.remaining),
    'RateLimit-Reset', String(decision.resetSeconds),
    'RateLimit-Policy', decision.policy.map((p) => `${p.limit};w=${p.seconds}`).join(', '),
  ];
}

/** The 429 for a request over the key's limit (its rate-limit headers are sent too). */
export function rateLimitError(decision: RateDecision): TooManyRequestsError {
  return new TooManyRequestsError(
    `This API key is over its limit of ${decision.limit} requests per ${decision.window}. Try again in ${decision.resetSeconds} s.`,
    decision.resetSeconds,
  );
}

/** Refuses with 429 once the client address is over `limiter`'s limit; counts every request it lets through. */
export function limitByAddress(limiter: IpLimiter, what: string): RequestHandler {
  return (req, _res, next) => {
    const wait = limiter.blockedFor(req.ip);
    if (wait !== undefined) throw new TooManyRequestsError(`Too many ${what} from your address. Try again in ${wait} s.`, wait);
    limiter.hit(req.ip);
    next();
  };
}
