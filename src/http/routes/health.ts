import { Router } from 'express';
import { migrationsApplied } from '../../db/migrate.js';
import type { Pool } from '../../db/pool.js';

export function healthRouter(deps: { pool: Pool }): Router {
  const router = Router();
  // Liveness: the process answers. Never touches the database, so a database outage does not
  // make an orchestrator restart healthy instances in a loop.
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const ready = await migrationsApplied(deps.pool).catch(() => false);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable' });
  });
  return router;
}
