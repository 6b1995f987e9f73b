import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Config } from './config.js';
import { createAccessTokenSource } from './connections/access-tokens.js';
import type { Cipher } from './crypto/cipher.js';
import type { Pool } from './db/pool.js';
import { authenticate } from './http/middleware/authenticate.js';
import { errorHandler, notFound } from './http/middleware/errors.js';
import { requestLog } from './http/middleware/request-log.js';
import { connectRouter } from './http/routes/connect.js';
import { healthRouter } from './http/routes/health.js';
import { mcpRouter } from './http/routes/mcp.js';
import { usersRouter } from './http/routes/users.js';
import { createKeyService } from './keys/key-service.js';
import type { Logger } from './log.js';
import { createMcpHandler } from './mcp/mcp-server.js';
import { upstreamLimits, type UpstreamLimits } from './outbound/limits.js';
import type { ProviderRegistry } from './providers/registry.js';

export interface AppDeps {
  config: Pick<Config, 'publicUrl'>;
  pool: Pool;
  cipher: Cipher;
  registry: ProviderRegistry;
  log: Logger;
  /** Timeouts and retries towards upstreams; defaults fit production, tests shorten them. */
  limits?: Partial<UpstreamLimits>;
}

/** JSON bodies above this are refused with 413 before they are parsed. */
const BODY_LIMIT = '1mb';

/** Builds the HTTP app without listening (STYLE §8): main.ts listens, tests use port 0. */
export function buildApp(deps: AppDeps): Express {
  const { config, pool, cipher, registry, log } = deps;
  const keys = createKeyService(pool);
  const limits = upstreamLimits(deps.limits);
  const tokens = createAccessTokenSource({
    pool,
    cipher,
    log,
    limits,
    connectUrl: (providerId) => `${config.publicUrl}/api/connect/${providerId}/start`,
  });
  const mcp = createMcpHandler({ registry, tokens, log, limits });
  const auth = authenticate(keys);

  const app = express();
  app.disable('x-powered-by');
  // Behind Fly's proxy, docker or a local reverse proxy, the client address is in X-Forwarded-For.
  app.set('trust proxy', 'loopback, linklocal, uniquelocal');
  app.use(helmet());
  app.use(requestLog(log));
  app.use(express.json({ limit: BODY_LIMIT, type: ['application/json', 'application/*+json'] }));

  app.use(healthRouter({ pool }));
  app.use(usersRouter({ pool, keys }));
  app.use(connectRouter({ pool, cipher, registry, publicUrl: config.publicUrl, tokenTimeoutMs: limits.tokenTimeoutMs, log, authenticate: auth }));
  app.use(mcpRouter({ mcp, publicUrl: config.publicUrl, authenticate: auth }));

  app.use(notFound);
  app.use(errorHandler(log));
  return app;
}
