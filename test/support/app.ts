import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { ConnectionStatus } from '../../src/connections/manage.js';
import { buildApp, type AppDeps } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createCipher } from '../../src/crypto/cipher.js';
import { createHttpServer, type ServerTimeouts } from '../../src/http/server.js';
import { demoProvider } from '../../src/demo/demo-provider.js';
import type { DemoOptions } from '../../src/demo/demo-routes.js';
import { connectIdp } from '../../src/idp/idp.js';
import { createPool, type Pool } from '../../src/db/pool.js';
import { createBcryptGate, type BcryptGate } from '../../src/keys/bcrypt-gate.js';
import type { TrustProxy } from '../../src/http/trust-proxy.js';
import type { LimitSettings } from '../../src/limits/settings.js';
import { createLogger } from '../../src/log.js';
import { secretInLogs } from './log-secrets.js';
import { parseProviders } from '../../src/providers/load.js';
import { withOpenApiTools } from '../../src/providers/openapi/with-openapi-tools.js';
import { createRegistry } from '../../src/providers/registry.js';
import { authorizeInBrowser } from './browser.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { startUpstream, type TestUpstream, type UpstreamOptions } from './upstream.js';

/** The real app on 127.0.0.1:<random port>, against a real database. */
export interface TestApp {
  /** Base URL, also used as PUBLIC_URL. */
  url: string;
  pool: Pool;
  /** Every log line the app wrote, as raw JSON text. */
  logs: string[];
  /** How many bcrypt compares and hashes the app's key service ran (its gate is injected for this). */
  bcrypt: BcryptGate['counts'];
  close(): Promise<void>;
}

export interface TestAppOptions {
  databaseUrl: string;
  /**
   * Raw providers (as in a providers file, `${VAR}` allowed); default none. A function gets the
   * app's URL first, so an upstream can be started with the right redirect URI.
   */
  providers?: unknown[] | ((publicUrl: string) => Promise<unknown[]>);
  env?: Record<string, string>;
  encryptionKey?: Buffer;
  /** Keys that still decrypt (an ENCRYPTION_KEYS rotation), after `encryptionKey`. */
  previousKeys?: Buffer[];
  /** How the app fetches Client ID Metadata Documents (tests trust a local HTTPS server). */
  clientMetadataFetch?: AppDeps['clientMetadataFetch'];
  /** How often tool-call counts are written (default 100 ms). */
  usageFlushMs?: number;
  /** Wraps the pool before the app gets it (e.g. to count round trips). */
  wrapPool?: (pool: Pool) => Pool;
  /** How long tool calls reuse a connection row (default: the app's 5 s). */
  connectionCacheMs?: number;
  /** Where log lines go instead of `logs` (a spawned app process sends them to stderr). */
  logTo?: Writable;
  /** pino level (default `trace`, or TEST_LOG_LEVEL): every line is scanned for secrets at close (log-secrets.ts). */
  logLevel?: string;
  /**
   * Limits to use instead of the defaults: shorter upstream timeouts (timeout tests take
   * milliseconds, not 30 s), key and address limits (registrations per address are relaxed unless given).
   */
  limits?: AppDeps['limits'];
  /** Server timeouts instead of main.ts's (the slow-clients test shortens them to seconds). */
  serverTimeouts?: Partial<ServerTimeouts>;
  /** The bcrypt gate of the app's key service (default: a real one; tests wrap it to hold or count compares). */
  bcrypt?: BcryptGate;
  /** Listen on this port instead of a random one (a process restarted after a crash keeps its URL). */
  port?: number;
  /** Serve the built-in demo upstream (provider `demo`) beside the given providers, as main.ts does when it is on. */
  demo?: DemoOptions;
  /**
   * IDP_* variables (a function gets the app's URL first): parsed by the real config schema and
   * connected as main.ts does, so discovery and the JWKS are loaded before the app serves.
   */
  idpEnv?: Record<string, string> | ((publicUrl: string) => Record<string, string>);
  /** METRICS_TOKEN: serve GET /metrics on the app's port to this bearer token. */
  metricsToken?: string;
  /** TRUST_PROXY as parsed (default: loopback, as in production). */
  trustProxy?: TrustProxy;
  /** PUBLIC_URL from the listening URL (default: the same), e.g. its https:// form for features that need one. */
  publicUrl?: (url: string) => string;
}

/**
 * For tests that fire many concurrent calls from one key on purpose (one shared refresh, isolation
 * of interleaved calls): the per-user and per-key in-flight caps (16 / 8) would answer most of them
 * instead. The caps have tests of their own (test/mcp/in-flight-limits.test.ts).
 */
export const MANY_IN_FLIGHT = Object.freeze({ toolCallsInFlightPerUser: 1_000, toolCallsInFlightPerKey: 1_000 });

/** Test files register many users from 127.0.0.1; the registration limit has tests of its own. */
const TEST_LIMITS: Partial<LimitSettings> = { registrationsPerIpPerHour: 10_000 };

/**
 * Starts the server exactly as main.ts wires it, except it listens on port 0 first so that
 * PUBLIC_URL (and the redirect URIs derived from it) can name the real port.
 */
export async function startApp(options: TestAppOptions): Promise<TestApp> {
  const server = createHttpServer(options.serverTimeouts);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const logs: string[] = [];
  const sink =
    options.logTo ??
    new Writable({
      write(chunk: Buffer, _enc, done) {
        logs.push(chunk.toString('utf8'));
        done();
      },
    });
  const log = createLogger(options.logLevel ?? process.env.TEST_LOG_LEVEL ?? 'trace', sink);
  const raw = typeof options.providers === 'function' ? await options.providers(url) : (options.providers ?? []);
  // As loadProviders does for a providers file: OpenAPI imports add their tools (spec paths relative to the working directory).
  const configured = await withOpenApiTools(parseProviders({ providers: raw }, { ...process.env, ...options.env }), process.cwd(), 'providers');
  const registry = createRegistry(options.demo ? [...configured, demoProvider(options.publicUrl ? options.publicUrl(url) : url, url)] : configured);
  const pool = createPool(options.databaseUrl);
  const appPool = options.wrapPool ? options.wrapPool(pool) : pool;
  const encryptionKey = options.encryptionKey ?? randomBytes(32);
  const cipher = createCipher(encryptionKey, options.previousKeys ?? []);
  const bcrypt = options.bcrypt ?? createBcryptGate();
  const idpEnv = typeof options.idpEnv === 'function' ? options.idpEnv(url) : options.idpEnv;
  const idpSettings = idpEnv ? loadConfig({ ...idpEnv, PUBLIC_URL: url }).idp : undefined;
  const idp = idpSettings ? await connectIdp(idpSettings) : undefined;
  const app = buildApp({
    bcrypt,
    idp,
    config: {
      publicUrl: options.publicUrl ? options.publicUrl(url) : url,
      ...(options.metricsToken ? { metricsToken: options.metricsToken } : {}),
      ...(options.trustProxy !== undefined ? { trustProxy: options.trustProxy } : {}),
    },
    pool: appPool,
    cipher,
    registry,
    log,
    usageFlushMs: options.usageFlushMs ?? 100,
    ...(options.connectionCacheMs !== undefined ? { connectionCacheMs: options.connectionCacheMs } : {}),
    limits: { ...TEST_LIMITS, ...options.limits },
    ...(options.clientMetadataFetch ? { clientMetadataFetch: options.clientMetadataFetch } : {}),
    ...(options.demo ? { demo: options.demo } : {}),
  });
  server.on('request', app);

  return {
    url,
    pool,
    logs,
    bcrypt: bcrypt.counts,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await app.close();
      await pool.end();
      const leak = options.logTo ? undefined : secretInLogs(logs, [encryptionKey.toString('base64'), encryptionKey.toString('base64url')]);
      if (leak) throw new Error(`a secret reached the log: ${leak}`);
    },
  };
}

/** A provider definition pointing at the test upstream, with tools over its REST API. */
/** The endpoints and client a provider definition needs from an upstream. */
export type UpstreamEndpoints = Pick<TestUpstream, 'authorizationUrl' | 'tokenUrl' | 'revocationUrl' | 'apiBaseUrl' | 'clientId' | 'clientSecret'>;

export function upstreamProvider(upstream: UpstreamEndpoints, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'acme',
    name: 'Acme',
    auth: 'oauth2',
    authorization_url: upstream.authorizationUrl,
    token_url: upstream.tokenUrl,
    revocation_url: upstream.revocationUrl,
    scopes: ['openid', 'offline_access', 'read'],
    pkce: true,
    client_id: upstream.clientId,
    client_secret: upstream.clientSecret,
    token_auth: 'client_secret_basic',
    authorization_params: { prompt: 'consent' },
    api_base_url: upstream.apiBaseUrl,
    tools: [
      { name: 'whoami', description: 'Who am I upstream', method: 'GET', path: '/me' },
      {
        name: 'get_item',
        description: 'Fetch one item',
        method: 'GET',
        path: '/items/{id}',
        params: {
          id: { type: 'string', in: 'path', required: true, description: 'Item id' },
          q: { type: 'string', in: 'query' },
        },
      },
      {
        name: 'echo',
        description: 'Echo a message',
        method: 'POST',
        path: '/echo',
        params: { message: { type: 'string', in: 'body', required: true }, count: { type: 'integer', in: 'body' } },
      },
      {
        name: 'status',
        description: 'Answer with an HTTP status',
        method: 'GET',
        path: '/status/{code}',
        params: { code: { type: 'integer', in: 'path', required: true } },
      },
      { name: 'large', description: 'A large response', method: 'GET', path: '/large' },
    ],
    ...overrides,
  };
}

/** Registers a user through the API; returns its id and key. */
export async function register(app: TestApp, name = 'test user'): Promise<{ userId: string; apiKey: string }> {
  const res = await fetch(`${app.url}/api/users/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  if (res.status !== 201) throw new Error(`register answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { user_id: string; api_key: string };
  return { userId: body.user_id, apiKey: body.api_key };
}

export function bearer(apiKey: string): Record<string, string> {
  return { authorization: `Bearer ${apiKey}` };
}

/** What `GET /api/connect/:provider/status` says about a user's connection. */
export type ConnectionStatusBody = ConnectionStatus;

export async function connectionStatus(app: TestApp, apiKey: string, provider = 'acme'): Promise<ConnectionStatusBody> {
  const res = await fetch(`${app.url}/api/connect/${provider}/status`, { headers: bearer(apiKey) });
  if (res.status !== 200) throw new Error(`status answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as ConnectionStatusBody;
}

/** When the user's stored access token expires, as status reports it. */
export async function tokenExpiry(app: TestApp, apiKey: string): Promise<Date> {
  const { expires_at } = await connectionStatus(app, apiKey);
  if (!expires_at) throw new Error('the connection has no expires_at');
  return new Date(expires_at);
}

/** The usual fixture: a fresh database, the test upstream registered for this app, and the app. */
export async function startAppWithUpstream(
  options: {
    accessTokenTtl?: number;
    tokenAuth?: 'client_secret_basic' | 'client_secret_post';
    /** Overrides of the provider definition; a function receives the started upstream. */
    provider?: Record<string, unknown> | ((upstream: TestUpstream) => Record<string, unknown>);
    /** Further upstream options (e.g. `expiresIn`). */
    upstream?: Omit<UpstreamOptions, 'redirectUris' | 'accessTokenTtl' | 'tokenAuth'>;
    /** Share it with other app instances (separate processes) on the same database. */
    encryptionKey?: Buffer;
    limits?: AppDeps['limits'];
    clientMetadataFetch?: AppDeps['clientMetadataFetch'];
    connectionCacheMs?: number;
    usageFlushMs?: number;
    metricsToken?: string;
  } = {},
): Promise<{ app: TestApp; upstream: TestUpstream; db: TestDatabase; close(): Promise<void> }> {
  const db = await createTestDatabase();
  let upstream: TestUpstream | undefined;
  const app = await startApp({
    databaseUrl: db.url,
    ...(options.clientMetadataFetch ? { clientMetadataFetch: options.clientMetadataFetch } : {}),
    ...(options.encryptionKey ? { encryptionKey: options.encryptionKey } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.connectionCacheMs !== undefined ? { connectionCacheMs: options.connectionCacheMs } : {}),
    ...(options.usageFlushMs !== undefined ? { usageFlushMs: options.usageFlushMs } : {}),
    ...(options.metricsToken ? { metricsToken: options.metricsToken } : {}),
    providers: async (url) => {
      upstream = await startUpstream({
        ...options.upstream,
        redirectUris: [`${url}/api/connect/acme/callback`],
        ...(options.accessTokenTtl ? { accessTokenTtl: options.accessTokenTtl } : {}),
        ...(options.tokenAuth ? { tokenAuth: options.tokenAuth } : {}),
      });
      const overrides = typeof options.provider === 'function' ? options.provider(upstream) : options.provider;
      return [upstreamProvider(upstream, { token_auth: options.tokenAuth ?? 'client_secret_basic', ...overrides })];
    },
  });
  const up = upstream as unknown as TestUpstream;
  return {
    app,
    upstream: up,
    db,
    async close() {
      await app.close();
      await up.close();
      await db.drop();
    },
  };
}

/** Registers a user and connects them to the test upstream as `login`, through the real login page. */
export async function registerAndConnect(app: TestApp, login: string): Promise<{ userId: string; apiKey: string }> {
  const user = await register(app, login);
  await connectAccount(app, user.apiKey, login);
  return user;
}

/** Runs the connect flow for an existing user (a first connection, or reconnecting). */
export async function connectAccount(app: TestApp, apiKey: string, login: string): Promise<void> {
  const start = await fetch(`${app.url}/api/connect/acme/start`, { headers: bearer(apiKey) });
  if (start.status !== 200) throw new Error(`start answered ${start.status}: ${await start.text()}`);
  const { authorization_url } = (await start.json()) as { authorization_url: string };
  const done = await authorizeInBrowser(authorization_url, login, apiKey);
  if (done.status !== 200) throw new Error(`callback answered ${done.status}: ${done.body}`);
}
