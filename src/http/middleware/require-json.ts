import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import { InvalidRequestError } from '../../errors.js';

/** The media types the JSON parser reads (app.ts); anything else would be left unparsed. */
export const JSON_TYPES = ['application/json', 'application/*+json'];

/**
 * Whether the request carries body bytes. `Content-Length: 0` is no body: clients send it on
 * body-less POSTs such as a rotation without options.
 */
export function hasBodyBytes(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = Number(req.headers['content-length']);
  return Number.isFinite(length) && length > 0;
}

/**
 * A body that is not JSON is refused before any route sees it. Without this, the JSON parser
 * skips a `text/plain` (or untyped) body, the route reads `{}`, and every default applies — a key
 * asked for with `{"scopes":["tools:read"]}` as text/plain was minted with all four scopes.
 * Failing closed means a client never gets something other than what it asked for.
 */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  if (!hasBodyBytes(req) || req.is(JSON_TYPES)) {
    next();
    return;
  }
  const missing = req.headers['content-type'] === undefined ? ' (Content-Type is missing)' : '';
  next(new InvalidRequestError(`Send the request body as application/json${missing}.`));
};
