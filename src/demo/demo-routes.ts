import { Router } from 'express';
import { redirectUriFor } from '../connections/connect-flow.js';
import type { Pool } from '../db/pool.js';
import { demoApiRouter } from './api-routes.js';
import { demoAuthorizeRouter } from './authorize-routes.js';
import { DEMO_PROVIDER_ID } from './demo-provider.js';
import { demoTokenRouter } from './token-routes.js';

/** Options of the built-in demo upstream (see demo-provider.ts for when it runs). */
export interface DemoOptions {
  /** Access token lifetime in seconds (default 3600; tests shorten it to watch refresh happen). */
  accessTokenTtlSeconds?: number;
}

const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 3600;

/**
 * Everything under /demo/: the demo's OAuth 2 server (login page, token, revocation) and its API.
 * Mounted before the app's JSON parser: each route parses its own body.
 */
export function demoRouter(deps: { pool: Pool; publicUrl: string; options: DemoOptions }): Router {
  const redirectUri = redirectUriFor(deps.publicUrl, DEMO_PROVIDER_ID);
  const router = Router();
  router.use(demoAuthorizeRouter({ pool: deps.pool, redirectUri }));
  router.use(demoTokenRouter({ pool: deps.pool, accessTokenTtlSeconds: deps.options.accessTokenTtlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS }));
  router.use(demoApiRouter({ pool: deps.pool }));
  return router;
}
