import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from '../log.js';

/**
 * Who is acting in the current request: set once by the HTTP layer and carried through every
 * await (AsyncLocalStorage), so an audit event recorded deep inside a tool call or a connect
 * callback gets the caller's address and user agent without threading them through every
 * signature.
 */
export interface Actor {
  ip: string | null;
  userAgent: string | null;
  /** Display prefix of the key that authenticated the request, once it has. */
  keyPrefix: string | null;
  /** Where audit failures are reported. */
  log: Logger | null;
}

const storage = new AsyncLocalStorage<Actor>();

export function runAsActor<T>(actor: Actor, work: () => T): T {
  return storage.run(actor, work);
}

/** The current request's actor, or undefined outside a request (CLI, timers). */
export function currentActor(): Actor | undefined {
  return storage.getStore();
}
