import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import helmet from 'helmet';
import { createAuthenticator } from './auth/authenticator.js';
import { createBatchCharge } from './auth/batch-charge.js';
import { createKeyCheck } from './auth/key-check.js';
import { createRefusedKeys } from './auth/refused-keys.js';
import type { Config } from './config.js';
import { createAccessTokenSource } from './connections/access-tokens.js';
import { redirectUriFor } from './connections/connect-flow.js';
import { createConnectionCache } from './connections/connection-cache.js';
import { createConnectionRepository } from './connections/connection-repository.js';
import { createCredentialSource } from './connections/credentials.js';
import type { Cipher } from './crypto/cipher.js';
import { startChangeFeed } from './db/change-feed.js';
import { demoRouter, type DemoOptions } from './demo/demo-routes.js';
import type { Pool } from './db/pool.js';
import { authenticate } from './http/middleware/authenticate.js';
import { errorHandler, notFound } from './http/middleware/errors.js';
import { checkUrl } from './http/middleware/check-url.js';
import { rejectNulInBody } from './http/middleware/reject-nul.js';
import { resourceAuthorization, type Idp } from './idp/idp.js';
import { createIdpLogin } from './idp/login.js';
import { createIdpTokenVerifier } from './idp/token-verifier.js';
import { requestLog } from './http/middleware/request-log.js';
import { JSON_TYPES, requireJsonBody } from './http/middleware/require-json.js';
import { helmetHeaders } from './http/security-headers.js';
import { clientAddressOf, trustFunction } from './http/trust-proxy.js';
import { auditRouter } from './http/routes/audit.js';
import { clientMetadataDocumentRouter } from './http/routes/client-metadata-document.js';
import { connectRouter } from './http/routes/connect.js';
import { healthRouter } from './http/routes/health.js';
import { keysRouter } from './http/routes/keys.js';
import { mcpRouter } from './http/routes/mcp.js';
import { usageRouter } from './http/routes/usage.js';
import { usersRouter } from './http/routes/users.js';
import { oauthMetadataRouter } from './http/routes/oauth-metadata.js';
import { oauthRegisterRouter } from './http/routes/oauth-register.js';
import { oauthTokenRouter } from './http/routes/oauth-token.js';
import type { BcryptGate } from './keys/bcrypt-gate.js';
import { createCreationSlots } from './keys/creation-slots.js';
import { createKeyService } from './keys/key-service.js';
import { createInFlightLimiter } from './limits/in-flight.js';
import { createIpLimiter } from './limits/ip-limiter.js';
import { createKeyRateLimiter } from './limits/key-rate-limiter.js';
import { DEFAULT_LIMITS, type LimitSettings } from './limits/settings.js';
import { startUsageSync } from './limits/usage-sync.js';
import type { Logger } from './log.js';
import { createMcpEndpoint, isMcpPost } from './mcp/endpoint.js';
import { createFastDispatcher } from './mcp/fast-dispatch.js';
import { createMcpHandler } from './mcp/mcp-server.js';
import { createRemoteTools } from './mcp/remote-tools.js';
import { forgetRejectedClient, resolveMcpOAuthProvider } from './upstreams/mcp/oauth-provider.js';
import { createAccessTokenVerifier } from './oauth-server/access-token-verifier.js';
import { createClientMetadataResolver, type ClientMetadataFetchOptions } from './oauth-server/client-metadata-documents.js';
import { createClientDirectory } from './oauth-server/clients.js';
import { oauthEndpoints } from './oauth-server/endpoints.js';
import { OAUTH_SCOPES } from './oauth-server/scopes.js';
import { upstreamLimits, type UpstreamLimits } from './outbound/limits.js';
import type { ProviderRegistry } from './providers/registry.js';
import { signInCookies } from './web/cookies.js';
import { connectCallbackRouter } from './web/routes/connect-callback.js';
import { oauthAuthorizeRouter } from './web/routes/oauth-authorize.js';
import { oauthSignInCallback } from './web/routes/oauth-sign-in-callback.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { httpMetrics } from './http/middleware/http-metrics.js';
import { metricsRouter } from './http/routes/metrics.js';
import { createUsageRecorder, type UsageRecorder } from './usage/usage-recorder.js';
import { createWeb } from './web/web.js';

export interface AppDeps {
  config: Pick<Config, 'publicUrl'> & Partial<Pick<Config, 'metricsToken' | 'trustProxy'>>;
  pool: Pool;
  cipher: Cipher;
  registry: ProviderRegistry;
  log: Logger;
  /**
   * How Client ID Metadata Documents are fetched. Production uses the defaults (public
   * addresses only, Node's CA bundle); tests inject a loopback-allowing policy and their CA.
   */
  clientMetadataFetch?: ClientMetadataFetchOptions;
  /** How often tool-call counts are written (default 5 s; tests use a short one). */
  usageFlushMs?: number;
  /** How long tool calls reuse a connection row read from the database (default 5 s). */
  connectionCacheMs?: number;
  /**
   * Overrides of the default limits: key rate limits and per-address limits (main.ts passes the
   * configured ones), upstream timeouts and retries (tests shorten them).
   */
  limits?: Partial<LimitSettings> & Partial<UpstreamLimits>;
  /** The bcrypt gate keys are hashed and compared through (tests pass one to count compares). */
  bcrypt?: BcryptGate;
  /**
   * Serve the built-in demo upstream under /demo/ (main.ts decides, demo/demo-provider.ts says
   * when); the registry must then hold the `demo` provider.
   */
  demo?: DemoOptions;
  /** The organisation's identity provider, connected at start-up (main.ts), when IDP_ISSUER is set. */
  idp?: Idp | undefined;
}

/**
 * The request listener for the HTTP server, plus what must run when the server stops (the last
 * usage and rate-limit writes).
 */
export type App = ((req: IncomingMessage, res: ServerResponse) => void) & { close(): Promise<void>; readonly metrics: Metrics };


/** JSON bodies above this are refused with 413 before they are parsed. */
const BODY_LIMIT = '1mb';

/** Builds the HTTP app without listening (STYLE §8): main.ts listens, tests use port 0. */
export function buildApp(deps: AppDeps): App {
  const { config, pool, cipher, registry, log } = deps;
  const metrics = createMetrics();
  const recorder = createUsageRecorder({ db: pool, log, ...(deps.usageFlushMs ? { flushIntervalMs: deps.usageFlushMs } : {}) });
  // Every counted tool call is also a metric: one place sees them all (REST, remote MCP, SDK path).
  const usage: UsageRecorder = {
    record(call) {
      recorder.record(call);
      metrics.toolCall(call);
    },
    flush: () => recorder.flush(),
    start: () => recorder.start(),
    stop: () => recorder.stop(),
    get lastWrittenAt() {
      return recorder.lastWrittenAt;
    },
  };
  const limits: LimitSettings = { ...DEFAULT_LIMITS, ...deps.limits };
  const upstream = upstreamLimits(pickUpstreamLimits(deps.limits));
  // What other instances changed (keys, users, connections), read once a second: the caches below
  // keep what did not change instead of re-reading every active user's rows every few seconds.
  const feed = startChangeFeed({ db: pool, log, intervalMs: limits.syncIntervalMs });
  const keys = createKeyService(pool, { feed, ...(deps.bcrypt ? { bcrypt: deps.bcrypt } : {}) });
  const creations = createCreationSlots();
  const limiter = createKeyRateLimiter();
  const usageSync = startUsageSync({ pool, limiter, keys, log, intervalMs: limits.syncIntervalMs });
  const refused = createRefusedKeys({ limit: limits.failedAuthPerIp, windowSeconds: limits.failedAuthWindowSeconds, inFlight: limits.keyChecksInFlightPerIp });
  const registrations = createIpLimiter({ limit: limits.registrationsPerIpPerHour, windowSeconds: 3600 });
  // One set of caps for every upstream request made for a user: REST tools, remote MCP tools, key checks.
  const inFlight = createInFlightLimiter({ perUser: limits.toolCallsInFlightPerUser, perKey: limits.toolCallsInFlightPerKey });
  // Every write of a connection row goes through this app's repository, which keeps the tool
  // calls' short-lived cache in step (a warm call touches no database).
  const connections = createConnectionRepository(createConnectionCache(pool, deps.connectionCacheMs, { feed }));
  feed.subscribe((change) => {
    if (change === undefined) {
      keys.changed(undefined);
      connections.changedElsewhere(undefined);
    } else if (change.kind === 'key') keys.changed({ keyId: change.keyId });
    else if (change.kind === 'user') keys.changed({ userId: change.userId });
    else connections.changedElsewhere(change);
  });
  const tokens = createAccessTokenSource({
    pool,
    connections,
    cipher,
    log,
    limits: upstream,
    publicUrl: config.publicUrl,
  });
  const credentials = createCredentialSource({ connections, cipher, tokens, publicUrl: config.publicUrl });
  registry.setPreparer((provider) =>
    provider.auth === 'oauth2'
      ? resolveMcpOAuthProvider(provider, { pool, cipher, publicUrl: config.publicUrl, redirectUri: (id) => redirectUriFor(config.publicUrl, id), timeoutMs: upstream.tokenTimeoutMs })
      : Promise.resolve(provider),
  );
  const remote = createRemoteTools({
    registry, credentials, usage, log, publicUrl: config.publicUrl, limits: upstream, inFlight, upstream: metrics.upstream,
    clientRejected: (providerId, err) => forgetRejectedClient(pool, registry, providerId, err),
  });
  const mcp = createMcpHandler({ registry, credentials, usage, log, publicUrl: config.publicUrl, limits: upstream, inFlight, remote, upstream: metrics.upstream });
  // The one way a presented key is checked, whichever route it arrives on.
  const keyCheck = createKeyCheck({ keys, refused });
  const endpoints = oauthEndpoints(config.publicUrl);
  const idpTokens = deps.idp && createIdpTokenVerifier({ pool, ...deps.idp, resource: endpoints.resource, log });
  const resourceAuth = deps.idp && resourceAuthorization(deps.idp, endpoints.issuer, OAUTH_SCOPES);
  const authDeps = { keyCheck, limiter, limits, idpTokens };
  const auth = authenticate(authDeps);
  // /mcp also takes this server's OAuth access tokens, and its 401s point at the resource metadata.
  const mcpAuthOptions = {
    accessTokens: createAccessTokenVerifier(pool, endpoints.resource),
    challenge: `Bearer realm="mcp-oauth-proxy", resource_metadata="${endpoints.resourceMetadata}", scope="${(resourceAuth?.scopes ?? OAUTH_SCOPES).join(' ')}"`,
  };
  const mcpAuth = authenticate(authDeps, mcpAuthOptions);
  // Only the configured proxies may name the client (TRUST_PROXY; default: loopback only).
  const trustProxy = config.trustProxy ?? ['loopback'];
  const trust = trustFunction(trustProxy);
  const mcpEndpoint = createMcpEndpoint({
    publicUrl: config.publicUrl,
    authenticate: createAuthenticator(authDeps, mcpAuthOptions),
    chargeBatch: createBatchCharge(authDeps),
    clientAddress: (req) => clientAddressOf(req, trust),
    fast: createFastDispatcher({ registry, credentials, usage, log, publicUrl: config.publicUrl, limits: upstream, inFlight, remote, upstream: metrics.upstream }),
    sdk: mcp,
    securityHeaders: helmetHeaders(),
    log,
    observe: metrics.route('POST', '/mcp'),
  });
  metrics.watch({
    pool,
    caches: { key_proofs: keys.cache, connections: connections.stats },
    bcrypt: keys.bcrypt,
    refreshes: tokens.refreshes,
    refusals: () => ({ key: limiter.refusals, failed_auth_address: refused.refusals, registration_address: registrations.refusals }),
    syncedAt: () => ({ rate_limits: usageSync.lastSyncedAt, tool_usage: recorder.lastWrittenAt }),
  });
  const cookies = signInCookies(config.publicUrl);
  const idpLogin = deps.idp && createIdpLogin({ pool, cipher, publicUrl: config.publicUrl, idp: deps.idp });
  const signIn = { pool, connections, cipher, registry, publicUrl: config.publicUrl, endpoints, log, idpLogin };
  const clients = createClientDirectory(pool, createClientMetadataResolver(deps.clientMetadataFetch));
  const web = createWeb({ pool, connections, cipher, registry, creations, publicUrl: config.publicUrl, tokenTimeoutMs: upstream.tokenTimeoutMs, log, keys, limits, auth: authDeps, registrations, usage, browserCookies: cookies, idpLogin });

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', trust);
  app.use(helmet());
  app.use(httpMetrics(metrics));
  app.use(requestLog(log));
  app.use(checkUrl);
  app.use(metricsRouter({ metrics, token: config.metricsToken }));
  // OAuth endpoints parse their own (smaller, form-encoded) bodies, so they come before the JSON parser.
  app.use(oauthMetadataRouter({ endpoints, authorization: resourceAuth }));
  app.use(oauthRegisterRouter({ pool, log }));
  app.use(oauthTokenRouter({ pool, endpoints, log }));
  app.use(oauthAuthorizeRouter({ ...signIn, clients, keyCheck, cookies }));
  if (deps.demo) app.use(demoRouter({ pool, publicUrl: config.publicUrl, options: deps.demo }));
  // Every /api route reads JSON: a body of any other type is a 400, never silently `{}`.
  app.use('/api', requireJsonBody);
  app.use(express.json({ limit: BODY_LIMIT, type: JSON_TYPES }), rejectNulInBody());

  app.use(healthRouter({ pool }));
  app.use(usersRouter({ pool, keys, registrations }));
  app.use(keysRouter({ pool, keys, creations, limits, authenticate: auth }));
  app.use(auditRouter({ pool, authenticate: auth }));
  app.use(clientMetadataDocumentRouter({ registry, publicUrl: config.publicUrl }));
  const connectFlow = { pool, connections, cipher, registry, publicUrl: config.publicUrl, tokenTimeoutMs: upstream.tokenTimeoutMs, log };
  app.use(connectRouter({ ...connectFlow, authenticate: auth, inFlight }));
  app.use(connectCallbackRouter({ ...connectFlow, signInCallback: oauthSignInCallback({ ...signIn, cookies }), webCallback: web.callback }));
  app.use(mcpRouter({ publicUrl: config.publicUrl, authenticate: mcpAuth, log }));
  app.use(usageRouter({ pool, usage, authenticate: auth }));
  app.use(web.router);

  app.use(notFound);
  app.use(errorHandler(log));
  usage.start();
  // POST /mcp (every tool call) goes straight to its endpoint; everything else through express.
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    if (isMcpPost(req)) void mcpEndpoint(req, res);
    else app(req, res);
  };
  return Object.assign(listener, {
    metrics,
    // Call after the server has drained, so the last calls' counts are in the final writes.
    close: async () => {
      connections.close();
      await Promise.all([usage.stop(), usageSync.stop(), feed.stop()]);
    },
  });
}

function pickUpstreamLimits(limits: Partial<UpstreamLimits> = {}): Partial<UpstreamLimits> {
  const { apiTimeoutMs, tokenTimeoutMs, refreshRetryDelaysMs, refreshConcurrency, callTimeoutMs } = limits;
  return {
    ...(callTimeoutMs !== undefined ? { callTimeoutMs } : {}),
    ...(apiTimeoutMs !== undefined ? { apiTimeoutMs } : {}),
    ...(tokenTimeoutMs !== undefined ? { tokenTimeoutMs } : {}),
    ...(refreshRetryDelaysMs !== undefined ? { refreshRetryDelaysMs } : {}),
    ...(refreshConcurrency !== undefined ? { refreshConcurrency } : {}),
  };
}
