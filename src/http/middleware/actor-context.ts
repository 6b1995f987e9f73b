import type { RequestHandler } from 'express';
import { currentActor, runAsActor } from '../../audit/actor.js';
import type { Logger } from '../../log.js';

/** Runs the rest of the request as an audit actor: client address (after `trust proxy`) and user agent. */
export function actorContext(log: Logger): RequestHandler {
  return (req, _res, next) => {
    const ip = req.ip ? req.ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '') : null;
    const userAgent = req.get('user-agent') ?? null;
    runAsActor({ ip, userAgent, keyPrefix: null, log }, next);
  };
}

/** Names the key that authenticated the request, for audit events recorded later in it. */
export function actAsKey(prefix: string): void {
  const actor = currentActor();
  if (actor) actor.keyPrefix = prefix;
}
