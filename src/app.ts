import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Config } from './config.js';
import { createAccessTokenSource } from './connections/access-tokens.js';
import type { Cipher } from './crypto/cipher.js';
import type { Pool } from './db/pool.js';
import { actorContext } from './http/middleware/actor-context.js';
import { authenticate } from './http/middleware/authenticate.js';
import { errorHandler, notFound } from './http/middleware/errors.js';
import { requestLog } from './http/middleware/request-log.js';
import { auditRouter } from './http/routes/audit.js';
import { connectRouter } from './http/routes/connect.js';
import { healthRouter } from './http/routes/health.js';
import { keysRouter } from './http/routes/keys.js';
import { mcpRouter } from './http/routes/mcp.js';
import { usersRouter } from './http/routes/users.js';
import { createKeyService } from './keys/key-service.js';
import { createIpLimiter } from './limits/ip-limiter.js';
import { createKeyRateLimiter } from './limits/key-rate-limiter.js';
import { DEFAULT_LIMITS, type LimitSettings } from './limits/settings.js';
import { startUsageSync } from './limits/usage-sync.js';
import type { Logger } from './log.js';
import { createMcpHandler } from './mcp/mcp-server.js';
import type { ProviderRegistry } from './providers/registry.js';

export interface AppDeps {
  config: Pick<Config, 'publicUrl'>;
  pool: Pool;
  cipher: Cipher;
  registry: ProviderRegistry;
  log: Logger;
  /** Overrides of the default limits (main.ts passes the configured ones; tests shrink them). */
  limits?: Partial<LimitSettings>;
}

/** The app, plus what must run when the server stops: the last usage sync. */
export type App = Express & { close(): Promise<void> };

/** JSON bodies above this are refused with 413 before they are parsed. */
const BODY_LIMIT = '1mb';

/** Builds the HTTP app without listening (STYLE §8): main.ts listens, tests use port 0. */
export function buildApp(deps: AppDeps): App {
  const { config, pool, cipher, registry, log } = deps;
  const limits: LimitSettings = { ...DEFAULT_LIMITS, ...deps.limits };
  const keys = createKeyService(pool);
  const limiter = createKeyRateLimiter();
  const usageSync = startUsageSync({ pool, limiter, keys, log, intervalMs: limits.syncIntervalMs });
  const failedAuth = createIpLimiter({ limit: limits.failedAuthPerIp, windowSeconds: limits.failedAuthWindowSeconds });
  const registrations = createIpLimiter({ limit: limits.registrationsPerIpPerHour, windowSeconds: 3600 });
  const tokens = createAccessTokenSource({
    pool,
    cipher,
    log,
    connectUrl: (providerId) => `${config.publicUrl}/api/connect/${providerId}/start`,
  });
  const mcp = createMcpHandler({ registry, tokens, log });
  const auth = authenticate({ keys, limiter, failedAuth, limits });

  const app = express();
  app.disable('x-powered-by');
  // Behind Fly's proxy, docker or a local reverse proxy, the client address is in X-Forwarded-For.
  app.set('trust proxy', 'loopback, linklocal, uniquelocal');
  app.use(helmet());
  app.use(requestLog(log));
  app.use(express.json({ limit: BODY_LIMIT, type: ['application/json', 'application/*+json'] }));
  // After the body is read: from here on every await carries the request's actor, whatever
  // context the body's stream events happened to arrive in.
  app.use(actorContext(log));

  app.use(healthRouter({ pool }));
  app.use(usersRouter({ pool, keys, registrations }));
  app.use(keysRouter({ pool, keys, limits, authenticate: auth }));
  app.use(auditRouter({ pool, authenticate: auth }));
  app.use(connectRouter({ pool, cipher, registry, publicUrl: config.publicUrl, log, authenticate: auth }));
  app.use(mcpRouter({ mcp, publicUrl: config.publicUrl, authenticate: auth }));

  app.use(notFound);
  app.use(errorHandler(log));
  return Object.assign(app, { close: () => usageSync.stop() });
}
