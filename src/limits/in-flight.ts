/**
 * Caps on the upstream calls one user, and one key, may have in flight to one upstream at once.
 *
 * The outbound pool is shared: 128 sockets per upstream origin (outbound/agents.ts). Without a
 * cap, one user who sends 200 calls to an endpoint that hangs (two JSON-RPC batches are enough)
 * holds every socket, and everybody else's calls to that upstream queue behind them until they
 * time out. With the caps (16 per user, 8 per key, per upstream, by default) one user holds at
 * most an eighth of the pool, and the excess is refused at once, before it takes anything — not
 * queued, since a queue would only move the wait from the socket pool to here.
 *
 * In memory, per process: the pool being protected is per process too.
 */
export interface InFlightSettings {
  /** Calls one user may have waiting on one upstream at once, across all their keys. */
  readonly perUser: number;
  /** Calls one key (or one OAuth access token's grant) may have waiting on one upstream at once. */
  readonly perKey: number;
}

export const DEFAULT_IN_FLIGHT: InFlightSettings = Object.freeze({ perUser: 16, perKey: 8 });

/** Why a call was refused: which cap was full, and its size (for the message). */
export interface InFlightRefusal {
  readonly refused: 'user' | 'key';
  readonly limit: number;
}

export interface InFlightLimiter {
  /**
   * A place for one call, or the refusal when the user's or the key's cap is full. The returned
   * function gives the place back; calling it twice gives back one place only.
   */
  enter(userId: string, keyId: string, upstreamId: string): (() => void) | InFlightRefusal;
  /** Calls in flight now, for a user (across keys) and upstream. */
  count(userId: string, upstreamId: string): number;
}

export function createInFlightLimiter(settings: InFlightSettings = DEFAULT_IN_FLIGHT): InFlightLimiter {
  // Keys of both maps are `<upstream>\0<user or key>`: a user id and a key prefix never collide
  // because they live in different maps.
  const users = new Map<string, number>();
  const keys = new Map<string, number>();

  const leave = (map: Map<string, number>, key: string): void => {
    const n = (map.get(key) ?? 1) - 1;
    if (n <= 0) map.delete(key);
    else map.set(key, n);
  };

  return {
    enter(userId, keyId, upstreamId) {
      const userKey = `${upstreamId}\u0000${userId}`;
      const keyKey = `${upstreamId}\u0000${keyId}`;
      const byUser = users.get(userKey) ?? 0;
      if (byUser >= settings.perUser) return { refused: 'user', limit: settings.perUser };
      const byKey = keys.get(keyKey) ?? 0;
      if (byKey >= settings.perKey) return { refused: 'key', limit: settings.perKey };
      users.set(userKey, byUser + 1);
      keys.set(keyKey, byKey + 1);
      let left = false;
      return () => {
        if (left) return;
        left = true;
        leave(users, userKey);
        leave(keys, keyKey);
      };
    },
    count(userId, upstreamId) {
      return users.get(`${upstreamId}\u0000${userId}`) ?? 0;
    },
  };
}

/** The words for a refused call, naming the upstream; the same for tool results and HTTP 429s. */
export function inFlightMessage(refusal: InFlightRefusal, upstreamName: string): string {
  const whose = refusal.refused === 'user' ? 'your account has' : 'this API key has';
  return (
    `Too many calls at once: ${whose} ${refusal.limit} requests to ${upstreamName} still waiting for an answer, the most allowed. ` +
    `This one was not sent to ${upstreamName}; try again when some of them have finished.`
  );
}
