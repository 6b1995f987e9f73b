import { TooManyRequestsError } from '../errors.js';
import type { KeyService } from '../keys/key-service.js';
import type { ApiKeyRecord } from '../keys/key-store.js';
import type { IpLimiter } from '../limits/ip-limiter.js';

/**
 * The only way from a presented `sk_` key to its record: every path that takes a key (/mcp, the
 * /api routes, the web sign-in, the OAuth consent form) asks this, so none can skip the
 * per-address limit on refused keys. That limit is what keeps a guesser from making us run
 * bcrypt for them: a key id with a wrong secret costs a bcrypt compare on a small shared gate,
 * which stalls everyone else's first-use verification.
 */
export interface KeyCheck {
  /**
   * The key's record when `presented` is a working key, undefined when it is refused (and the
   * refusal is counted against `address`). Throws TooManyRequestsError when the address must wait.
   */
  check(presented: string, address: string | undefined): Promise<ApiKeyRecord | undefined>;
}

export interface KeyCheckDeps {
  keys: KeyService;
  /** Counts refused keys per client address. */
  failedAuth: IpLimiter;
}

export function createKeyCheck(deps: KeyCheckDeps): KeyCheck {
  return {
    async check(presented, address) {
      // A key seen recently is answered from memory: no lookup, no bcrypt, nothing to limit.
      const warm = deps.keys.peek(presented);
      if (warm) return warm;
      const wait = deps.failedAuth.blockedFor(address);
      if (wait !== undefined) throw new TooManyRequestsError(`Too many invalid API keys from your address. Try again in ${wait} s.`, wait);
      const record = await deps.keys.verify(presented);
      if (!record) deps.failedAuth.hit(address);
      return record;
    },
  };
}
