import { createHash, randomBytes } from 'node:crypto';
import { errors, jwtVerify } from 'jose';
import type { Cipher } from '../crypto/cipher.js';
import type { Pool } from '../db/pool.js';
import { AppError } from '../errors.js';
import { sameHash, sha256 } from '../crypto/secrets.js';
import { IdpUnavailableError, postForm } from './http.js';
import type { IdpIdentity } from './identity-store.js';
import type { Idp } from './idp.js';
import { consumeIdpLogin, insertIdpLogin } from './login-store.js';
import { CLOCK_TOLERANCE_SECONDS } from './token-verifier.js';

/** The one redirect URI to register at the IdP for login mode. */
export const IDP_CALLBACK_PATH = '/sign-in/idp/callback';

/** A login that cannot be completed; `description` is safe to show (4xx, or 503 when the IdP cannot be reached). */
export class IdpLoginError extends AppError {
  constructor(status: number, description: string) {
    super(status, status === 403 ? 'access_denied' : status >= 500 ? 'temporarily_unavailable' : 'invalid_request', description, { expose: true });
  }
}

export interface IdpLogin {
  /** The button's words. */
  readonly name: string;
  /** Where the browser is sent (for CSP form-action: a form's redirect must be allowed). */
  readonly origin: string;
  /** Starts a login bound to this browser; `authorizationRequestId` when it is the consent step of an MCP client's sign-in. */
  begin(input: { browserId: string; authorizationRequestId: string | null }): Promise<string>;
  /** Finishes it: the verified identity, and the authorization request it belongs to, if any. */
  complete(query: Record<string, unknown>, browserId: string | undefined): Promise<{ identity: IdpIdentity; authorizationRequestId: string | null }>;
}

/**
 * OpenID Connect authorization code flow with PKCE (S256) and a nonce (Core §3.1), for a
 * confidential client. Every value that must round-trip (state, nonce, verifier) is kept server
 * side, bound to the browser; the id_token is verified with the same JWKS and algorithm rules as
 * access tokens, with `aud` = our client id and the nonce we sent.
 */
export function createIdpLogin(deps: { pool: Pool; cipher: Cipher; publicUrl: string; idp: Idp }): IdpLogin | undefined {
  const { settings, metadata, keys } = deps.idp;
  const client = settings.client;
  const authorizationEndpoint = metadata.authorizationEndpoint;
  const tokenEndpoint = metadata.tokenEndpoint;
  if (!client || !authorizationEndpoint || !tokenEndpoint) return undefined;
  const redirectUri = `${deps.publicUrl}${IDP_CALLBACK_PATH}`;

  return {
    name: settings.name,
    origin: new URL(authorizationEndpoint).origin,
    async begin({ browserId, authorizationRequestId }) {
      const state = randomBytes(32).toString('base64url');
      const nonce = randomBytes(32).toString('base64url');
      const codeVerifier = randomBytes(32).toString('base64url');
      await insertIdpLogin(deps.pool, deps.cipher, state, { browserHash: sha256(browserId), nonce, codeVerifier, authorizationRequestId });
      const url = new URL(authorizationEndpoint);
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('client_id', client.id);
      url.searchParams.set('redirect_uri', redirectUri);
      url.searchParams.set('scope', 'openid profile email');
      url.searchParams.set('state', state);
      url.searchParams.set('nonce', nonce);
      url.searchParams.set('code_challenge', createHash('sha256').update(codeVerifier).digest('base64url'));
      url.searchParams.set('code_challenge_method', 'S256');
      return url.href;
    },
    async complete(query, browserId) {
      const param = (name: string) => (typeof query[name] === 'string' ? (query[name] as string) : undefined);
      const state = param('state');
      const login = state ? await consumeIdpLogin(deps.pool, deps.cipher, state) : undefined;
      if (!login) throw new IdpLoginError(400, 'This sign-in link has expired or was already used. Start again.');
      if (!browserId || !sameHash(login.browserHash, sha256(browserId))) {
        throw new IdpLoginError(403, 'This sign-in was started in a different browser. For your safety it was cancelled; start again in this browser.');
      }
      // RFC 9207: an `iss` in the response must be our IdP's (mix-up defence).
      const iss = param('iss');
      if (iss !== undefined && iss !== settings.issuer) throw new IdpLoginError(400, 'The sign-in answer came from another identity provider. Start again.');
      const error = param('error');
      if (error) throw new IdpLoginError(error === 'access_denied' ? 403 : 400, `${settings.name} did not sign you in (${error.slice(0, 60)}).`);
      const code = param('code');
      if (!code) throw new IdpLoginError(400, `${settings.name} sent no authorization code. Start again.`);

      let answer;
      try {
        answer = await postForm(tokenEndpoint, { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: login.codeVerifier }, client);
      } catch (err) {
        if (err instanceof IdpUnavailableError) throw new IdpLoginError(503, `${settings.name} could not be reached. Try again in a moment.`);
        throw err;
      }
      const idToken = (answer.json as { id_token?: unknown } | undefined)?.id_token;
      if (answer.status !== 200 || typeof idToken !== 'string') throw new IdpLoginError(400, `${settings.name} refused to complete the sign-in. Start again.`);
      return { identity: await verifyIdToken(idToken, login.nonce), authorizationRequestId: login.authorizationRequestId };
    },
  };

  async function verifyIdToken(idToken: string, nonce: string): Promise<IdpIdentity> {
    let payload;
    try {
      ({ payload } = await jwtVerify(idToken, keys.resolve, {
        issuer: settings.issuer,
        audience: client!.id,
        algorithms: keys.algorithms(),
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp', 'iat', 'sub'],
      }));
    } catch (err) {
      if (err instanceof IdpUnavailableError) throw new IdpLoginError(503, `${settings.name} could not be reached. Try again in a moment.`);
      if (err instanceof errors.JOSEError) throw new IdpLoginError(400, `${settings.name} sent an ID token that does not verify. Start again.`);
      throw err;
    }
    // OIDC Core §3.1.3.7: with several audiences, `azp` must be us; the nonce must be the one we sent.
    if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== client!.id) throw new IdpLoginError(400, 'The ID token was issued to another client.');
    if (payload.nonce !== nonce) throw new IdpLoginError(400, 'The ID token does not belong to this sign-in (nonce mismatch). Start again.');
    const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
    return { issuer: settings.issuer, subject: payload.sub as string, name: text(payload.name), email: text(payload.email) };
  }
}
