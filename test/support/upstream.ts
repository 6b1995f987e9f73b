import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
// oidc-provider ships no type declarations; with @types/oidc-provider installed this directive is inert
// (which @ts-expect-error would turn into an error).
// eslint-disable-next-line @typescript-eslint/ban-ts-comment
// @ts-ignore
import Provider from 'oidc-provider';
import { createApiHandler } from './upstream-api.js';
import type { ApiRequestRecord } from './upstream-api.js';
import { UpstreamStore } from './upstream-store.js';

/** How to shape the test upstream (a real OAuth 2 / OIDC server plus a REST API it protects). */
export interface UpstreamOptions {
  /** Redirect URIs registered for the confidential client (the proxy's callback URLs). */
  redirectUris: string[];
  /**
   * Access-token lifetime in seconds (default 3600). Short values let tests watch tokens expire.
   * oidc-provider counts whole seconds (exp = floor(iat) + ttl), so a token really lives between
   * ttl - 1 and ttl seconds: a client's view of its expiry may be up to a second late.
   */
  accessTokenTtl?: number;
  /**
   * How the client authenticates at the token/revocation endpoints (default client_secret_basic).
   * Enforced strictly: the other method gets 401 invalid_client, unlike bare oidc-provider.
   */
  tokenAuth?: 'client_secret_basic' | 'client_secret_post';
  /**
   * How token responses state the access token's lifetime: `sent` (default, `expires_in`),
   * `omitted` (no `expires_in`) or `null` (`"expires_in": null`, OwnerRez's "None" policy).
   * Tokens still die after `accessTokenTtl`, so a client that trusts them forever sees a 401.
   */
  expiresIn?: 'sent' | 'omitted' | 'null';
  /** Enable RFC 7591 dynamic client registration (`/reg`); registered clients get refresh tokens too. */
  dynamicRegistration?: boolean;
  /**
   * Accept Client ID Metadata Documents (URL client_ids), fetched with this function: tests serve
   * the documents from a plain-http app whose PUBLIC_URL says https, so it maps the URL back.
   * Such clients get refresh tokens too.
   */
  clientIdMetadataDocuments?: { fetch: typeof fetch };
  /** Serves requests before the OAuth server does (resolves true when it answered): e.g. an MCP endpoint on the same origin. */
  mount?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
}

/** A running upstream; every counter is live and reflects requests up to now. */
export interface TestUpstream {
  /** `http://127.0.0.1:PORT` */
  issuer: string;
  /** The discovered authorization_endpoint. */
  authorizationUrl: string;
  tokenUrl: string;
  revocationUrl: string;
  /** `${issuer}/api` */
  apiBaseUrl: string;
  clientId: string;
  clientSecret: string;
  /**
   * How many times the token endpoint was called, by grant_type: every POST counts, including ones
   * answered 503 while down or refused for client authentication; other grant types are not counted.
   */
  tokenCalls: { authorization_code: number; refresh_token: number };
  /** The `resource` (RFC 8707) of every code or refresh token request, in order; null when none was sent. */
  tokenResources: Array<{ grant: 'authorization_code' | 'refresh_token'; resource: string | null }>;
  /** Every REST API request seen: method, path (with query), the Authorization header, parsed JSON body. */
  apiRequests: ApiRequestRecord[];
  /** Revocation requests the revocation endpoint accepted (any token type hint), so tests can assert revoke happened. */
  revocations: number;
  /** Make the token endpoint answer HTTP 503 (true) or behave normally (false) — for outage tests. */
  setTokenEndpointDown(down: boolean): void;
  /**
   * Make the token endpoint accept requests and never answer (true), like a wedged server, or
   * behave normally (false). A hanging request consumes nothing and ends when the client gives up.
   */
  setTokenEndpointHanging(hanging: boolean): void;
  /** Revoke every grant, and the codes and tokens issued under it, for this account id (the user revoking access upstream). */
  revokeGrantsFor(accountId: string): Promise<void>;
  /**
   * Invalidate the account's access tokens before they expire, leaving grants and refresh tokens
   * alone (what upstreams do on a password change): the next API call with one gets a 401.
   */
  revokeAccessTokensFor(accountId: string): void;
  /** Lifetime of access tokens issued from now on, in seconds (tokens already issued keep theirs). */
  setAccessTokenTtl(seconds: number): void;
  /**
   * The account an unexpired access token was issued to (what a resource server behind this
   * upstream checks); with `audience`, only a token issued for that resource (RFC 8707) counts.
   */
  accountOf(accessToken: string, audience?: string): Promise<string | undefined>;
  /** Clients registered through dynamic registration so far. */
  registrations: number;
  /** Forget every dynamically registered client: their token requests then fail with invalid_client. */
  forgetRegisteredClients(): void;
  close(): Promise<void>;
}

const DAY = 24 * 60 * 60;

/** Starts the upstream on 127.0.0.1 with a random port; `/api/*` is the REST API, everything else is oidc-provider. */
export async function startUpstream(options: UpstreamOptions): Promise<TestUpstream> {
  // The issuer must contain the port, so listen first and attach the provider once it is known.
  let dispatch: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end();
  const server = createServer((req, res) => dispatch(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const clientId = `client_${randomBytes(6).toString('hex')}`;
  const clientSecret = randomBytes(24).toString('base64url');
  const store = new UpstreamStore();
  const ttl = { accessToken: options.accessTokenTtl ?? 3600 };
  const provider = createProvider(issuer, { ...options, clientId, clientSecret, store, ttl });
  let tokenEndpointDown = false;
  let tokenEndpointHanging = false;

  const upstream: TestUpstream = {
    issuer,
    authorizationUrl: '',
    tokenUrl: '',
    revocationUrl: '',
    apiBaseUrl: `${issuer}/api`,
    clientId,
    clientSecret,
    tokenCalls: { authorization_code: 0, refresh_token: 0 },
    tokenResources: [],
    apiRequests: [],
    revocations: 0,
    setTokenEndpointDown(down) {
      tokenEndpointDown = down;
    },
    setTokenEndpointHanging(hanging) {
      tokenEndpointHanging = hanging;
    },
    async revokeGrantsFor(accountId) {
      for (const grantId of store.grantIdsOf(accountId)) store.revokeGrant(grantId);
    },
    revokeAccessTokensFor(accountId) {
      store.revokeAccessTokens(accountId);
    },
    setAccessTokenTtl(seconds) {
      ttl.accessToken = seconds;
    },
    async accountOf(value, audience) {
      const token = await provider.AccessToken.find(value);
      if (!token || token.isExpired || (audience !== undefined && token.aud !== audience)) return undefined;
      return token.accountId as string;
    },
    registrations: 0,
    forgetRegisteredClients() {
      store.forgetClients();
    },
    async close() {
      if (!server.listening) return;
      // Drop keep-alive sockets (fetch pools them) and pending /api/slow responses, or close() would wait on them.
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };

  // Post-middleware (runs after the route): the revocation endpoint answers 200 once it has accepted a request.
  provider.use(async (ctx: { oidc?: { route?: string }; status: number }, next: () => Promise<void>) => {
    await next();
    if (ctx.oidc?.route === 'revocation' && ctx.status === 200) upstream.revocations += 1;
    if (ctx.oidc?.route === 'registration' && ctx.status === 201) upstream.registrations += 1;
  });
  if (options.expiresIn === 'omitted' || options.expiresIn === 'null') {
    const mode = options.expiresIn;
    // Post-middleware again: Koa serialises ctx.body only after every middleware has returned.
    provider.use(async (ctx: { oidc?: { route?: string }; status: number; body?: unknown }, next: () => Promise<void>) => {
      await next();
      if (ctx.oidc?.route !== 'token' || ctx.status !== 200 || typeof ctx.body !== 'object' || ctx.body === null) return;
      const body = { ...(ctx.body as Record<string, unknown>) };
      if (mode === 'omitted') delete body.expires_in;
      else body.expires_in = null;
      ctx.body = body;
    });
  }

  const api = createApiHandler({
    requests: upstream.apiRequests,
    async verifyAccessToken(value) {
      const token = await provider.AccessToken.find(value);
      return token && !token.isExpired ? (token.accountId as string) : undefined;
    },
  });
  const oidc = provider.callback() as (req: IncomingMessage, res: ServerResponse) => void;
  const tokenAuth = options.tokenAuth ?? 'client_secret_basic';
  let tokenPath = '';
  let revocationPath = '';

  /** The token and revocation endpoints' front door: counts grants, simulates outages, enforces the auth method. */
  const clientEndpoint = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const raw = await readRaw(req);
    const form = new URLSearchParams(raw.toString('utf8'));
    if (path === tokenPath) {
      const grantType = form.get('grant_type');
      if (grantType === 'authorization_code' || grantType === 'refresh_token') {
        upstream.tokenCalls[grantType] += 1;
        upstream.tokenResources.push({ grant: grantType, resource: form.get('resource') });
      }
      if (tokenEndpointHanging) return; // never answered; close() or the client's timeout ends it
      if (tokenEndpointDown) {
        // Answered here, never reaching oidc-provider, so no code or refresh token is consumed.
        sendJson(res, 503, { error: 'temporarily_unavailable', error_description: 'token endpoint is down (test)' });
        return;
      }
    }
    // oidc-provider accepts client_secret_basic and client_secret_post interchangeably for either
    // registration; real upstreams often accept only one, so a proxy using the wrong one must fail here.
    const usedBasic = /^basic /i.test(req.headers.authorization ?? '');
    // A Client ID Metadata Document client is public (token_endpoint_auth_method none): no secret at all.
    const publicClient = !usedBasic && !form.has('client_secret') && (form.get('client_id') ?? '').startsWith('https://');
    if (!publicClient && usedBasic !== (tokenAuth === 'client_secret_basic')) {
      sendJson(res, 401, { error: 'invalid_client', error_description: `client must authenticate with ${tokenAuth}` });
      return;
    }
    // The stream is spent; oidc-provider falls back to a pre-read req.body (it warns once per process).
    Object.assign(req, { body: raw });
    oidc(req, res);
  };

  const mount = options.mount;
  dispatch = (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (mount) {
      mount(req, res).then(
        (served) => {
          if (!served) route(req, res, path);
        },
        (err: unknown) => failed(res, err),
      );
      return;
    }
    route(req, res, path);
  };
  const route = (req: IncomingMessage, res: ServerResponse, path: string): void => {
    if (path.startsWith('/api/')) {
      api(req, res).catch((err: unknown) => failed(res, err));
    } else if (req.method === 'POST' && (path === tokenPath || path === revocationPath)) {
      clientEndpoint(req, res, path).catch((err: unknown) => failed(res, err));
    } else {
      oidc(req, res);
    }
  };

  const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<string, string>;
  upstream.authorizationUrl = required(discovery, 'authorization_endpoint');
  upstream.tokenUrl = required(discovery, 'token_endpoint');
  upstream.revocationUrl = required(discovery, 'revocation_endpoint');
  tokenPath = new URL(upstream.tokenUrl).pathname;
  revocationPath = new URL(upstream.revocationUrl).pathname;
  return upstream;
}

interface ProviderSettings extends UpstreamOptions {
  clientId: string;
  clientSecret: string;
  store: UpstreamStore;
  /** Read at every issue, so tests can change it while the upstream runs. */
  ttl: { accessToken: number };
}

function createProvider(issuer: string, settings: ProviderSettings) {
  return new Provider(issuer, {
    adapter: settings.store.adapterFor,
    clients: [
      {
        client_id: settings.clientId,
        client_secret: settings.clientSecret,
        redirect_uris: settings.redirectUris,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: settings.tokenAuth ?? 'client_secret_basic',
      },
    ],
    // Listing read/write here makes them plain OIDC-style scopes: consent grants them and they land
    // on the access token without resource indicators.
    scopes: ['openid', 'offline_access', 'read', 'write'],
    claims: { openid: ['sub'] },
    // The dev login form takes any password; whatever login is typed becomes the account id and `sub`.
    async findAccount(_ctx: unknown, id: string) {
      return { accountId: id, claims: async () => ({ sub: id }) };
    },
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: false },
      registration: { enabled: settings.dynamicRegistration === true },
      clientIdMetadataDocument: { enabled: settings.clientIdMetadataDocuments !== undefined, ack: 'draft-02' },
      // RFC 8707: a request naming a `resource` gets an opaque token for that audience (an MCP server
      // behind this upstream checks it); requests without one are served exactly as before.
      resourceIndicators: {
        enabled: true,
        getResourceServerInfo: async (_ctx: unknown, resource: string) => ({ scope: 'read write', audience: resource, accessTokenFormat: 'opaque' }),
        useGrantedResource: async () => true,
      },
    },
    // oidc-provider only requires PKCE from public clients by default; the proxy always sends S256,
    // so demanding it here makes a proxy that forgets PKCE fail loudly.
    pkce: { required: () => true },
    // By default a refresh token needs the offline_access scope, which oidc-provider also silently drops
    // unless prompt=consent is sent. Real upstreams issue one anyway, so always issue it to our client.
    issueRefreshToken: async (_ctx: unknown, client: { clientId: string }) =>
      client.clientId === settings.clientId || settings.dynamicRegistration === true || (settings.clientIdMetadataDocuments !== undefined && client.clientId.startsWith('https://')),
    ...(settings.clientIdMetadataDocuments ? { fetch: settings.clientIdMetadataDocuments.fetch } : {}),
    // The default rotates a confidential client's refresh token only after 70% of its lifetime has passed,
    // i.e. practically never in a test. Always rotating makes the proxy prove it stores the new token.
    // Reusing a rotated (consumed) token is treated as theft: oidc-provider revokes the whole grant.
    rotateRefreshToken: true,
    // The default ties tokens without offline_access to the browser session; the proxy has no session.
    expiresWithSession: async () => false,
    ttl: {
      AccessToken: () => settings.ttl.accessToken,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: 14 * DAY,
      Grant: 14 * DAY,
      Session: 14 * DAY,
      Interaction: 3600,
    },
    // Cookies are not marked Secure on plain http (oidc-provider keys that off ctx.secure), so fetch-based
    // logins work; the keys only sign them and silence the missing-keys warning.
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    jwks: { keys: [signingKey()] },
  });
}

let cachedSigningKey: Record<string, unknown> | undefined;

/** One RS256 key per process: generating RSA keys is slow, and without one oidc-provider warns about dev keys. */
function signingKey(): Record<string, unknown> {
  cachedSigningKey ??= {
    ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
    kid: 'test-upstream',
    use: 'sig',
    alg: 'RS256',
  };
  return cachedSigningKey;
}

async function readRaw(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

function failed(res: ServerResponse, err: unknown): void {
  console.error('test upstream failed:', err);
  if (res.headersSent) res.end();
  else sendJson(res, 500, { error: 'server_error' });
}

function required(doc: Record<string, string>, field: string): string {
  const value = doc[field];
  if (typeof value !== 'string') throw new Error(`upstream discovery document lacks ${field}`);
  return value;
}
