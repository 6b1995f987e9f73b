/**
 * Who acted, as an audit event records it: the client address and user agent of the request,
 * and the prefix of the key that authenticated it. Passed explicitly from the HTTP layer to
 * whatever records an event — an AsyncLocalStorage would spare the parameters but slows every
 * promise in the process (about a tenth of a tool call's CPU on Node 20).
 */
export interface Actor {
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly keyPrefix: string | null;
}

/** Events without a request behind them: the operator CLI, background work. */
export const NO_ACTOR: Actor = Object.freeze({ ip: null, userAgent: null, keyPrefix: null });

/** IPv4 clients on a dual-stack socket show up as ::ffff:a.b.c.d; the audit log shows a.b.c.d. */
export function displayAddress(ip: string | undefined): string | null {
  return ip ? ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '') : null;
}
