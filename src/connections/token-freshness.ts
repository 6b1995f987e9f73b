/** Refresh at most this long before expiry (half the lifetime, when that is shorter). */
export const MAX_REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * How usable a stored access token is:
 * - `fresh`: use it as it is;
 * - `due`: still valid, but inside its refresh margin: refresh now, yet keep using it if that fails;
 * - `expired`: a refresh is needed before any call.
 *
 * The margin is 5 minutes, or half the token's lifetime when that is shorter, so a token that
 * lives 2 minutes is not refreshed on every call. A token without expiry is always fresh: only
 * the upstream refusing it (a 401) causes a refresh.
 */
export type TokenFreshness = 'fresh' | 'due' | 'expired';

export function tokenFreshness(token: { issuedAt: Date; expiresAt: Date | null }, now = Date.now()): TokenFreshness {
  if (!token.expiresAt) return 'fresh';
  const expiresAt = token.expiresAt.getTime();
  if (expiresAt <= now) return 'expired';
  const lifetime = expiresAt - token.issuedAt.getTime();
  // A lifetime that makes no sense (clocks moved) gets the full margin: early beats late.
  const margin = lifetime > 0 ? Math.min(MAX_REFRESH_MARGIN_MS, lifetime / 2) : MAX_REFRESH_MARGIN_MS;
  return expiresAt - margin <= now ? 'due' : 'fresh';
}
