import type { JWTPayload } from 'jose';
import { IdpUnavailableError, postForm } from './http.js';

export interface IntrospectionChecks {
  issuer: string;
  audiences: readonly string[];
  toleranceSeconds: number;
}

/**
 * RFC 7662 for IdPs that issue opaque access tokens. `active: true` alone is not enough: the
 * answer's `iss`, `exp` and `nbf` (when present) and `aud` get the same checks as a JWT's claims —
 * an IdP happily reports a token for another resource server as active.
 */
export async function introspect(url: string, client: { id: string; secret: string }, token: string, checks: IntrospectionChecks): Promise<JWTPayload | undefined> {
  const { status, json } = await postForm(url, { token, token_type_hint: 'access_token' }, client);
  if (status !== 200 || typeof json !== 'object' || json === null) {
    // 401/400: our credentials were refused: a configuration problem, not the caller's fault.
    throw new IdpUnavailableError(`the identity provider's introspection endpoint answered HTTP ${status}`);
  }
  const answer = json as JWTPayload & { active?: unknown };
  if (answer.active !== true) return undefined;
  const now = Math.floor(Date.now() / 1000);
  if (answer.iss !== undefined && answer.iss !== checks.issuer) return undefined;
  // Unlike RFC 7662, `aud` is required: an audience-less token (e.g. one only meant for the IdP's
  // userinfo endpoint, issued to any of its clients) must not work here.
  const aud = Array.isArray(answer.aud) ? answer.aud : [answer.aud];
  if (!aud.some((a) => typeof a === 'string' && checks.audiences.includes(a))) return undefined;
  if (typeof answer.exp === 'number' && answer.exp + checks.toleranceSeconds <= now) return undefined;
  if (typeof answer.nbf === 'number' && answer.nbf - checks.toleranceSeconds > now) return undefined;
  return answer;
}
