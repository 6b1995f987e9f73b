import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';
// oidc-provider ships no type declarations (see upstream.ts for why not @ts-expect-error).
// eslint-disable-next-line @typescript-eslint/ban-ts-comment
// @ts-ignore
import Provider from 'oidc-provider';
import { authorizeUntilRedirect } from './browser.js';
import { UpstreamStore } from './upstream-store.js';

/**
 * The organisation's identity provider in tests: a real oidc-provider issuing RFC 9068 JWT access
 * tokens for resource indicators (RFC 8707), id tokens with name/email, RFC 7662 introspection,
 * dynamic registration (what an MCP client's own auth() does), and the dev login pages.
 */
export interface TestIdp {
  issuer: string;
  /** A confidential client the tests use to get tokens (redirects to an address nobody listens on). */
  tokenClient: { id: string; secret: string; redirectUri: string };
  /** The login-mode client for the app (IDP_CLIENT_ID/SECRET), once `addLoginClient` registered its redirect URI. */
  loginClient: { id: string; secret: string };
  /** The current signing key (private JWK with kid and alg), for tests that forge claims with a real key. */
  signingKey(): JWK & { kid: string };
  /** JWKS downloads so far. */
  jwksFetches: number;
  /** Issue opaque access tokens (checked by introspection) instead of JWTs from now on. */
  setAccessTokenFormat(format: 'jwt' | 'opaque'): void;
  /** A new signing key with a new kid; tokens signed with the old one stop verifying once the JWKS is re-read. */
  rotateKey(): Promise<void>;
  /** Register the app's login callback(s) for the login client (the app's URL is known only once it listens). */
  setLoginRedirectUris(uris: string[]): void;
  /** Make every endpoint answer 503 (true) or work (false). */
  setDown(down: boolean): void;
  /** Signs `login` in (dev login form) and returns an access token for `resource`. */
  accessToken(login: string, resource: string, scope?: string): Promise<string>;
  close(): Promise<void>;
}

const SCOPES = 'tools:read tools:write connections keys';
const TOKEN_REDIRECT = 'http://127.0.0.1:9/idp-callback';

/**
 * `registration: false` makes it an IdP like Entra ID or Google, where MCP clients cannot
 * register themselves (the app then lists its own authorization server first).
 */
export async function startIdp(options: { loginRedirectUris?: string[]; registration?: boolean } = {}): Promise<TestIdp> {
  let dispatch: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end();
  let down = false;
  const server = createServer((req, res) => {
    if (down) return void res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"temporarily_unavailable"}');
    if ((req.url ?? '').startsWith('/jwks')) idp.jwksFetches += 1;
    dispatch(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const store = new UpstreamStore();
  const tokenClient = { id: 'token-client', secret: randomBytes(24).toString('base64url'), redirectUri: TOKEN_REDIRECT };
  const loginClient = { id: 'mcp-proxy', secret: randomBytes(24).toString('base64url') };
  const state = { format: 'jwt' as 'jwt' | 'opaque', key: newKey(), loginRedirectUris: options.loginRedirectUris ?? [TOKEN_REDIRECT] };

  const build = () => {
    const provider = new Provider(issuer, {
      adapter: store.adapterFor,
      clients: [
        { client_id: tokenClient.id, client_secret: tokenClient.secret, redirect_uris: [TOKEN_REDIRECT], grant_types: ['authorization_code'], response_types: ['code'] },
        { client_id: loginClient.id, client_secret: loginClient.secret, redirect_uris: state.loginRedirectUris, grant_types: ['authorization_code'], response_types: ['code'] },
      ],
      // The resource's scopes are listed too: dynamic registration (the SDK sends the scope it wants) accepts only listed ones.
      scopes: ['openid', 'profile', 'email', ...SCOPES.split(' ')],
      claims: { openid: ['sub'], profile: ['name'], email: ['email'] },
      async findAccount(_ctx: unknown, id: string) {
        return { accountId: id, claims: async () => ({ sub: id, name: `${id} Example`, email: `${id}@example.test` }) };
      },
      // Access tokens carry name and e-mail too, so a user first seen through a token gets them.
      async extraTokenClaims(_ctx: unknown, token: { kind: string; accountId?: string }) {
        return token.kind === 'AccessToken' && token.accountId ? { name: `${token.accountId} Example`, email: `${token.accountId}@example.test` } : undefined;
      },
      features: {
        devInteractions: { enabled: true },
        introspection: { enabled: true },
        registration: { enabled: options.registration !== false },
        resourceIndicators: {
          enabled: true,
          getResourceServerInfo: async (_ctx: unknown, resource: string) => ({
            scope: SCOPES,
            audience: resource,
            accessTokenFormat: state.format,
            ...(state.format === 'jwt' ? { jwt: { sign: { alg: 'RS256' } } } : {}),
          }),
          useGrantedResource: async () => true,
        },
      },
      pkce: { required: () => true },
      // Name and e-mail in the id_token itself, as Auth0, Okta, Entra ID and Google put them.
      conformIdTokenClaims: false,
      cookies: { keys: [randomBytes(32).toString('base64url')] },
      jwks: { keys: [state.key] },
    });
    // oidc-provider serves its JWKS at /jwks: counted above.
    return provider.callback() as (req: IncomingMessage, res: ServerResponse) => void;
  };
  dispatch = build();

  const idp: TestIdp = {
    issuer,
    tokenClient,
    loginClient,
    signingKey: () => state.key as JWK & { kid: string },
    jwksFetches: 0,
    setAccessTokenFormat(format) {
      state.format = format;
    },
    async rotateKey() {
      state.key = newKey();
      dispatch = build();
    },
    setLoginRedirectUris(uris) {
      state.loginRedirectUris = uris;
      dispatch = build();
    },
    setDown(value) {
      down = value;
    },
    async accessToken(login, resource, scope = `openid ${SCOPES}`) {
      const verifier = randomBytes(32).toString('base64url');
      const url = new URL(`${issuer}/auth`);
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: tokenClient.id,
        redirect_uri: TOKEN_REDIRECT,
        scope,
        resource,
        state: randomBytes(8).toString('hex'),
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
      }).toString();
      const back = await authorizeUntilRedirect(url.href, login);
      const code = back.searchParams.get('code');
      if (!code) throw new Error(`IdP login gave no code: ${back.href}`);
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${tokenClient.id}:${tokenClient.secret}`).toString('base64')}` },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: TOKEN_REDIRECT, code_verifier: verifier, resource }),
      });
      const body = (await res.json()) as { access_token?: string };
      if (!res.ok || !body.access_token) throw new Error(`IdP token request failed: ${res.status} ${JSON.stringify(body)}`);
      return body.access_token;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return idp;
}

/** A fresh RS256 key with a fresh kid (key rotation makes a new one). */
function newKey(): Record<string, unknown> {
  return {
    ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
    kid: `idp-${randomBytes(4).toString('hex')}`,
    use: 'sig',
    alg: 'RS256',
  };
}
