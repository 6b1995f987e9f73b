import type { Request, Response } from 'express';
import { displayAddress, type Actor } from '../../auth/actor.js';
import type { Caller } from '../../auth/caller.js';

/** Who is acting in an express request, for the audit log: address (after `trust proxy`), user agent, key. */
export function actorOf(req: Request, res: Response): Actor {
  const caller = res.locals.caller as Caller | undefined;
  return { ip: displayAddress(req.ip), userAgent: req.get('user-agent') ?? null, keyPrefix: caller?.keyPrefix ?? null };
}
