import type { RequestHandler } from 'express';
import { ForbiddenError } from '../../errors.js';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function hostnameOf(hostHeader: string): string | undefined {
  try {
    return new URL(`http://${hostHeader}`).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * DNS-rebinding protection for /mcp (MCP transports spec, "Security Warning"): a web page on an
 * attacker's domain that rebinds to this server's address still sends its own Host and Origin,
 * so both must name this server. Loopback names are accepted when the server is itself on
 * loopback (a laptop install reached as localhost or 127.0.0.1 alike).
 */
export function dnsRebindingGuard(publicUrl: string): RequestHandler {
  const pub = new URL(publicUrl);
  const loopback = LOOPBACK.has(pub.hostname);
  const allowedHost = (hostHeader: string | undefined): boolean => {
    if (!hostHeader) return false;
    if (hostHeader.toLowerCase() === pub.host.toLowerCase()) return true;
    const name = hostnameOf(hostHeader);
    return loopback && name !== undefined && LOOPBACK.has(name);
  };
  const allowedOrigin = (origin: string): boolean => {
    if (origin.toLowerCase() === pub.origin.toLowerCase()) return true;
    try {
      return loopback && LOOPBACK.has(new URL(origin).hostname);
    } catch {
      return false;
    }
  };
  return (req, _res, next) => {
    if (!allowedHost(req.headers.host)) throw new ForbiddenError('Host header does not match this server.', 'forbidden_host');
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigin(origin)) throw new ForbiddenError('Origin is not allowed.', 'forbidden_origin');
    next();
  };
}
