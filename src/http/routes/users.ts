import { Router } from 'express';
import { z } from 'zod';
import type { Pool } from '../../db/pool.js';
import type { KeyService } from '../../keys/key-service.js';
import { registerUser } from '../../users/register.js';
import { parseInput } from '../middleware/validate.js';

const RegisterBody = z.strictObject({ name: z.string().trim().min(1).max(100).optional() });

export function usersRouter(deps: { pool: Pool; keys: KeyService }): Router {
  const router = Router();
  router.post('/api/users/register', async (req, res) => {
    const { name } = parseInput(RegisterBody, req.body);
    const { userId, apiKey } = await registerUser(deps.pool, deps.keys, name ?? null);
    // The key exists nowhere else in plaintext: make sure no cache keeps this response.
    res.status(201).set('Cache-Control', 'no-store').json({
      user_id: userId,
      api_key: apiKey,
      message: 'Store this API key now: it is shown only once. Send it as "Authorization: Bearer <key>".',
    });
  });
  return router;
}
