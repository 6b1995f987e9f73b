import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { listAuditEvents, type AuditCursor } from '../../audit/audit-store.js';
import type { Pool } from '../../db/pool.js';
import { InvalidRequestError } from '../../errors.js';
import { apiKeyOf, requireScope } from '../middleware/authenticate.js';
import { parseInput } from '../middleware/validate.js';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;

const AuditQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).optional(),
  before: z.string().min(1).max(200).optional(),
});

/**
 * `before` is either the `next_before` cursor of the previous page (exact, even when events
 * share a timestamp) or an ISO 8601 timestamp (events strictly older than it).
 */
function parseBefore(value: string | undefined): AuditCursor | Date | undefined {
  if (value === undefined) return undefined;
  if (value.startsWith('c_')) {
    const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)\|(\d{1,19})$/.exec(Buffer.from(value.slice(2), 'base64url').toString('utf8'));
    if (match) return { at: match[1] as string, id: match[2] as string };
  } else if (/^\d{4}-\d\d-\d\dT/.test(value) && !Number.isNaN(Date.parse(value))) {
    return new Date(value);
  }
  throw new InvalidRequestError('Invalid query: before: must be an ISO 8601 timestamp or the next_before value of a previous page.');
}

const cursorOf = (event: { at: string; id: string }): string => `c_${Buffer.from(`${event.at}|${event.id}`).toString('base64url')}`;

/** GET /api/audit: the caller's user's own security events, newest first, paged. */
export function auditRouter(deps: { pool: Pool; authenticate: RequestHandler }): Router {
  const router = Router();
  router.get('/api/audit', deps.authenticate, requireScope('keys'), async (req, res) => {
    const query = parseInput(AuditQuery, req.query, 'query');
    const limit = query.limit ?? DEFAULT_LIMIT;
    const events = await listAuditEvents(deps.pool, apiKeyOf(res).userId, { limit, before: parseBefore(query.before) });
    const last = events.at(-1);
    res.set('Cache-Control', 'no-store').json({
      events: events.map((e) => ({ at: e.at, type: e.type, key_prefix: e.keyPrefix, ip: e.ip, user_agent: e.userAgent, detail: e.detail })),
      // Only a full page can have more behind it.
      next_before: events.length === limit && last ? cursorOf(last) : null,
    });
  });
  return router;
}
