import type { RequestHandler } from 'express';

/**
 * CORS for the endpoints browser-based MCP clients call directly: metadata, registration, token
 * and revocation. Any origin, no cookies (`Allow-Credentials` is never sent): these endpoints
 * authenticate with what the request carries, so a foreign origin gains nothing it could not
 * get with curl. Preflights end here with 204.
 */
export function publicCors(methods: string): RequestHandler {
  return (req, res, next) => {
    res.set({
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Methods': `${methods}, OPTIONS`,
      'Access-Control-Allow-Headers': 'Authorization, Content-Type, MCP-Protocol-Version',
      'Access-Control-Max-Age': '86400',
    });
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    next();
  };
}
