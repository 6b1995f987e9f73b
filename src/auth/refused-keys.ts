import { TooManyRequestsError } from '../errors.js';
import { addressBucket } from '../limits/client-address.js';
import { secondsUntilReset, windowStart } from '../limits/windows.js';

/**
 * The per-address limit on refused keys (in this instance's memory; N instances allow N × it).
 *
 * A check that may cost a lookup and a bcrypt compare is *reserved* before it starts: it counts
 * as refused from the moment it begins and is given back only when the key turns out good. A
 * limit counted after the result let 150 concurrent wrong secrets all reach bcrypt before the
 * first refusal was counted. On top, at most `inFlight` such checks per address run at once and
 * the excess is refused at once (429, Retry-After 1), so one address can never hold more than a
 * few of bcrypt's two slots.
 *
 * Policy for a blocked address (over `limit` refusals in the window), which may be a NAT shared
 * with people who did nothing: a key id that was refused from it stays blocked until the window
 * ends (the one being guessed), but a key id not refused from it yet — a neighbour's new key —
 * still gets checked, one check at a time, for up to `limit` more refusals in the window; then
 * everything from the address waits for the window's end. So a blocked address costs at most one
 * bcrypt at a time and 2 × `limit` checks per window, and its neighbours are locked out only after
 * that, for at most one window.
 */
export interface RefusedKeys {
  /**
   * Reserves a check of a key with `publicId` from `address` (counted as refused until settled),
   * or throws TooManyRequestsError when the address must wait.
   */
  admit(address: string | undefined, publicId: string, now?: number): (outcome: CheckOutcome) => void;
  /** Counts a refusal that cost nothing (a malformed key, a known key no longer valid); throws when the address is blocked. */
  refusedFree(address: string | undefined, now?: number): void;
  /** Requests answered 429 by this limiter since start (for /metrics). */
  readonly refusals: number;
}

/** `failed`: the check could not finish (database down): neither good nor refused. */
export type CheckOutcome = 'accepted' | 'refused' | 'failed';

export interface RefusedKeyLimits {
  /** Refused keys per address per window before it is blocked. */
  limit: number;
  windowSeconds: number;
  /** Checks that may cost bcrypt in flight per address (1 while blocked). */
  inFlight: number;
}

interface Entry {
  start: number;
  /** Refusals (and reservations) counted toward the limit in this window. */
  refused: number;
  /** Refusals while blocked, of key ids not refused before. */
  extra: number;
  /** Refusals (and reservations) per key id in this window. */
  ids: Map<string, number>;
  /** Checks running now (not tied to the window). */
  inFlight: number;
}

/** Beyond this many tracked addresses the idle ones with ended windows are swept, then the oldest dropped. */
const MAX_TRACKED = 100_000;

export function createRefusedKeys(limits: RefusedKeyLimits): RefusedKeys {
  const entries = new Map<string, Entry>();

  function entryOf(bucket: string, now: number): Entry {
    const start = windowStart(now, limits.windowSeconds);
    let entry = entries.get(bucket);
    if (!entry) {
      if (entries.size >= MAX_TRACKED) sweep(start);
      entry = { start, refused: 0, extra: 0, ids: new Map(), inFlight: 0 };
      entries.set(bucket, entry);
    } else if (entry.start !== start) {
      entry.start = start;
      entry.refused = 0;
      entry.extra = 0;
      entry.ids.clear();
    }
    return entry;
  }

  function sweep(start: number): void {
    for (const [bucket, entry] of entries) if (entry.start !== start && entry.inFlight === 0) entries.delete(bucket);
    while (entries.size >= MAX_TRACKED) {
      const oldest = entries.keys().next().value;
      if (oldest === undefined) break;
      entries.delete(oldest);
    }
  }

  let refusals = 0;
  const blocked = (now: number): TooManyRequestsError => {
    refusals += 1;
    const wait = secondsUntilReset(now, limits.windowSeconds);
    return new TooManyRequestsError(`Too many invalid API keys from your address. Try again in ${wait} s.`, wait);
  };

  return {
    get refusals() {
      return refusals;
    },
    admit(address, publicId, now = Date.now()) {
      const bucket = addressBucket(address);
      const entry = entryOf(bucket, now);
      const isBlocked = entry.refused >= limits.limit;
      if (isBlocked && ((entry.ids.get(publicId) ?? 0) > 0 || entry.extra >= limits.limit)) throw blocked(now);
      if (entry.inFlight >= (isBlocked ? 1 : limits.inFlight)) {
        refusals += 1;
        throw new TooManyRequestsError('Too many API keys are being checked at once from your address. Try again in 1 s.', 1);
      }
      if (isBlocked) entry.extra += 1;
      else entry.refused += 1;
      entry.ids.set(publicId, (entry.ids.get(publicId) ?? 0) + 1);
      entry.inFlight += 1;
      const start = entry.start;
      let settled = false;
      return (outcome) => {
        if (settled) return;
        settled = true;
        entry.inFlight -= 1;
        // A good key (or a check that could not finish) gives its reservation back, if its window is still on.
        if (outcome === 'refused' || entry.start !== start) return;
        if (isBlocked) entry.extra -= 1;
        else entry.refused -= 1;
        const left = (entry.ids.get(publicId) ?? 1) - 1;
        if (left > 0) entry.ids.set(publicId, left);
        else entry.ids.delete(publicId);
        // An address whose checks all succeeded leaves nothing behind: with 20,000 users each on
        // an address of their own, the emptied entries were ~10 MB held until 100,000 piled up.
        if (entry.refused === 0 && entry.extra === 0 && entry.inFlight === 0 && entries.get(bucket) === entry) entries.delete(bucket);
      };
    },

    refusedFree(address, now = Date.now()) {
      const entry = entryOf(addressBucket(address), now);
      if (entry.refused >= limits.limit) throw blocked(now);
      entry.refused += 1;
    },
  };
}
