import type { RequestHandler } from 'express';
import { ForbiddenError } from '../../errors.js';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
/** A Host header is a name or bracketed IPv6 literal and an optional port: nothing else (no userinfo). */
const HOST_HEADER = /^([a-z0-9.-]+|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/i;
const DEFAULT_PORT: Record<string, string> = { 'http:': '80', 'https:': '443' };

export type OriginCheck = 'ok' | 'forbidden_host' | 'forbidden_origin';

/**
 * DNS-rebinding protection for /mcp (MCP transports spec, "Security Warning"): a web page on an
 * attacker's domain that rebinds to this server's address still sends its own Host and Origin,
 * so both must name this server. Loopback names are accepted when the server is itself on
 * loopback (a laptop install reached as localhost or 127.0.0.1 alike).
 */
export function createOriginCheck(publicUrl: string): (host: string | undefined, origin: string | undefined) => OriginCheck {
  const pub = new URL(publicUrl);
  const pubHost = pub.hostname.toLowerCase();
  const pubPort = pub.port || (DEFAULT_PORT[pub.protocol] ?? '');
  const loopback = LOOPBACK.has(pubHost);

  const hostAllowed = (header: string | undefined): boolean => {
    const match = header ? HOST_HEADER.exec(header) : null;
    if (!match) return false;
    const name = (match[1] as string).toLowerCase();
    if (loopback) return LOOPBACK.has(name);
    return name === pubHost && (match[2] ?? DEFAULT_PORT[pub.protocol]) === pubPort;
  };
  const originAllowed = (origin: string): boolean => {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    if (url.origin === pub.origin) return true;
    return loopback && LOOPBACK.has(url.hostname);
  };

  return (host, origin) => {
    if (!hostAllowed(host)) return 'forbidden_host';
    if (origin !== undefined && !originAllowed(origin)) return 'forbidden_origin';
    return 'ok';
  };
}

export const ORIGIN_CHECK_MESSAGES: Record<Exclude<OriginCheck, 'ok'>, string> = {
  forbidden_host: 'Host header does not match this server.',
  forbidden_origin: 'Origin is not allowed.',
};

export function dnsRebindingGuard(publicUrl: string): RequestHandler {
  const check = createOriginCheck(publicUrl);
  return (req, _res, next) => {
    const verdict = check(req.headers.host, req.headers.origin);
    if (verdict !== 'ok') throw new ForbiddenError(ORIGIN_CHECK_MESSAGES[verdict], verdict);
    next();
  };
}
