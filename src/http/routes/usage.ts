import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { Pool } from '../../db/pool.js';
import { resolveDayRange, utcDay } from '../../usage/days.js';
import type { UsageRecorder } from '../../usage/usage-recorder.js';
import { usageOfUser } from '../../usage/usage-store.js';
import { callerOf } from '../middleware/authenticate.js';
import { parseInput } from '../middleware/validate.js';

const UsageQuery = z.strictObject({ from: z.string().optional(), to: z.string().optional() });

/** `GET /api/usage?from=&to=`: the caller's own tool calls per day, provider and tool. Any valid key may read it. */
export function usageRouter(deps: { pool: Pool; usage: UsageRecorder; authenticate: RequestHandler }): Router {
  const router = Router();
  router.get('/api/usage', deps.authenticate, async (req, res) => {
    const range = resolveDayRange(parseInput(UsageQuery, req.query, 'query'), utcDay(new Date()));
    // Calls this instance has counted but not yet written show up at once; other instances' within their flush interval.
    await deps.usage.flush();
    res.set('Cache-Control', 'no-store').json({ usage: await usageOfUser(deps.pool, callerOf(res).userId, range) });
  });
  return router;
}
