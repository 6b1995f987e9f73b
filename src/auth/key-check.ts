import type { KeyService } from '../keys/key-service.js';
import type { ApiKeyRecord } from '../keys/key-store.js';
import type { RefusedKeys } from './refused-keys.js';

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
  /** Refused keys per client address, reserved before any lookup or bcrypt (see refused-keys.ts). */
  refused: RefusedKeys;
}

export function createKeyCheck(deps: KeyCheckDeps): KeyCheck {
  return {
    async check(presented, address) {
      // A key seen recently is answered from memory: no lookup, no bcrypt, nothing to limit.
      const warm = deps.keys.peek(presented);
      if (warm) return warm;
      // Checks that may cost bcrypt are reserved before they start; a key proven before whose
      // status is only stale is re-read without bcrypt and needs no reservation.
      let admitted = false;
      const record = await deps.keys.verify(presented, (publicId) => {
        const settle = deps.refused.admit(address, publicId);
        admitted = true;
        return settle;
      });
      // Refusals that cost nothing (malformed, revoked, a shared check that failed) still count.
      if (!record && !admitted) deps.refused.refusedFree(address);
      return record;
    },
  };
}
