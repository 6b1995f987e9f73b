import { Router } from 'express';
import { z } from 'zod';
import type { Pool } from '../../db/pool.js';
import type { KeyService } from '../../keys/key-service.js';
import type { IpLimiter } from '../../limits/ip-limiter.js';
import { registerUser } from '../../users/register.js';
import { limitByAddress } from '../middleware/rate-limit.js';
import { actorOf } from '../middleware/actor-context.js';
import { parseInput } from '../middleware/validate.js';

const RegisterBody = z.strictObject({ name: z.string().trim().min(1).max(100).optional() });

export function usersRouter(deps: { pool: Pool; keys: KeyService; registrations: IpLimiter }): Router {
  const router = Router();
  // Registration is open to anyone and costs a bcrypt hash: limited per client address.
  router.post('/api/users/register', limitByAddress(deps.registrations, 'registrations'), async (req, res) => {
    const { name } = parseInput(RegisterBody, req.body);
    const { userId, apiKey } = await registerUser(deps.pool, deps.keys, name ?? null, actorOf(req, res));
    // The key exists nowhere else in plaintext: make sure no cache keeps this response.
    res.status(201).set('Cache-Control', 'no-store').json({
      user_id: userId,
      api_key: apiKey,
      message: 'Store this API key now: it is shown only once. Send it as "Authorization: Bearer <key>".',
    });
  });
  return router;
}
