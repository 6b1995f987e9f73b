import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { ApiKeyRecord } from '../../keys/key-store.js';
import { createKeyAs, listKeysOf, MAX_GRACE_SECONDS, revokeKeyOf, rotateKeyAs, type ManageKeysDeps } from '../../keys/manage-keys.js';
import { SCOPES } from '../../keys/scopes.js';
import { effectiveKeyLimits } from '../../limits/settings.js';
import { NotFoundError } from '../../errors.js';
import { actorOf } from '../middleware/actor-context.js';
import { apiKeyOf, requireScope } from '../middleware/authenticate.js';
import { parseInput } from '../middleware/validate.js';

const TEN_YEARS = 10 * 365 * 24 * 3600;

const CreateKeyBody = z.strictObject({
  name: z.string().trim().min(1).max(100).optional(),
  expires_in: z.number().int().min(1).max(TEN_YEARS).optional(),
  scopes: z
    .array(z.enum(SCOPES))
    .min(1)
    .refine((s) => new Set(s).size === s.length, 'must not repeat a scope')
    .optional(),
  rate_limit: z
    .strictObject({
      per_minute: z.number().int().min(1).max(1_000_000).optional(),
      per_hour: z.number().int().min(1).max(100_000_000).optional(),
    })
    .optional(),
});

const RotateKeyBody = z.strictObject({ grace_seconds: z.number().int().min(0).max(MAX_GRACE_SECONDS).optional() });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A key id from the path. Anything that is not a UUID cannot name a key: 404, like an unknown one. */
function keyIdParam(value: unknown): string {
  if (typeof value !== 'string' || !UUID.test(value)) throw new NotFoundError('No such API key (it may already be revoked or expired).');
  return value.toLowerCase();
}

/** Several keys per user, managed with a key that has the `keys` scope (CONTRACT "Keys and audit"). */
export function keysRouter(deps: ManageKeysDeps & { authenticate: RequestHandler }): Router {
  const router = Router();
  const authed = [deps.authenticate, requireScope('keys')];

  /** What a client may see of a key: never the secret, rate limits as they apply. */
  const view = (r: ApiKeyRecord) => {
    const limits = effectiveKeyLimits(r.rateLimit, deps.limits);
    return {
      id: r.id,
      name: r.name,
      prefix: r.prefix,
      scopes: r.scopes,
      created_at: r.createdAt.toISOString(),
      last_used_at: r.lastUsedAt?.toISOString() ?? null,
      expires_at: r.expiresAt?.toISOString() ?? null,
      rate_limit: { per_minute: limits.perMinute, per_hour: limits.perHour },
    };
  };
  /** A new secret exists nowhere else in plaintext: make sure no cache keeps the response. */
  const withSecret = (r: ApiKeyRecord, apiKey: string) => {
    const { created_at: _created, last_used_at: _used, ...rest } = view(r);
    return { ...rest, api_key: apiKey };
  };

  router.post('/api/keys', ...authed, async (req, res) => {
    const body = parseInput(CreateKeyBody, req.body);
    const { apiKey, record } = await createKeyAs(deps, apiKeyOf(res), {
      name: body.name,
      expiresIn: body.expires_in,
      scopes: body.scopes,
      rateLimit: body.rate_limit && { perMinute: body.rate_limit.per_minute, perHour: body.rate_limit.per_hour },
    }, actorOf(req, res));
    res.status(201).set('Cache-Control', 'no-store').json(withSecret(record, apiKey));
  });

  router.get('/api/keys', ...authed, async (_req, res) => {
    const keys = await listKeysOf(deps.pool, apiKeyOf(res).userId);
    res.set('Cache-Control', 'no-store').json({ keys: keys.map(view) });
  });

  router.delete('/api/keys/:id', ...authed, async (req, res) => {
    const caller = apiKeyOf(res);
    const revoked = await revokeKeyOf(deps, caller.userId, keyIdParam(req.params.id), 'api', actorOf(req, res));
    const self = revoked.id === caller.id ? ' This was the key used for this request.' : '';
    res.json({ message: `API key ${revoked.prefix} is revoked and stops working now.${self}` });
  });

  router.post('/api/keys/:id/rotate', ...authed, async (req, res) => {
    const keyId = keyIdParam(req.params.id);
    const body = parseInput(RotateKeyBody, req.body);
    const { minted, previous } = await rotateKeyAs(deps, apiKeyOf(res), keyId, body.grace_seconds ?? 0, actorOf(req, res));
    res.status(201).set('Cache-Control', 'no-store').json({
      ...withSecret(minted.record, minted.apiKey),
      rotated_from: previous.id,
      previous_key_expires_at: previous.endsAt.toISOString(),
    });
  });

  return router;
}
