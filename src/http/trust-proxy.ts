import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';
import type { z } from 'zod';

/**
 * Which peers may tell us the client's address in `X-Forwarded-For`, in express's `trust proxy`
 * forms: `false` (nobody: the peer is the client), a hop count (trust that many proxies in front,
 * whatever their addresses), or a list of addresses, CIDR ranges and proxy-addr's presets
 * (`loopback`, `linklocal`, `uniquelocal`). Trusting a peer that is not our proxy lets any client
 * choose its own address, and with it a fresh per-address budget for every guess.
 */
export type TrustProxy = false | number | readonly string[];

export function parseTrustProxy(value: string, ctx: z.RefinementCtx): TrustProxy {
  const v = value.trim();
  if (v === 'false') return false;
  if (/^\d+$/.test(v)) return Number(v);
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  try {
    proxyaddr.compile(list);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `must be false, a hop count, or addresses/CIDR ranges/loopback/linklocal/uniquelocal separated by commas (${(err as Error).message})` });
  }
  return list;
}

/** The trust function express would build from the same setting (express's compileTrust). */
export function trustFunction(setting: TrustProxy): (address: string, hop: number) => boolean {
  if (setting === false) return () => false;
  if (typeof setting === 'number') return (_address, hop) => hop < setting;
  return proxyaddr.compile([...setting]);
}

/** The client address of a request under `trust`: what `req.ip` is in the express routes. */
export function clientAddressOf(req: IncomingMessage, trust: (address: string, hop: number) => boolean): string | undefined {
  return proxyaddr(req, trust);
}
