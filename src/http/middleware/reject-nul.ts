import type { RequestHandler } from 'express';
import { containsNul } from '../../db/nul.js';
import { InvalidRequestError } from '../../errors.js';

/**
 * Put right after a body parser: a NUL anywhere in the body is refused before a route reads it
 * (every text field of the API, DCR and the web forms; the URL is checked in check-url.ts).
 * `error` lets DCR answer in RFC 7591's words.
 */
export function rejectNulInBody(error: (description: string) => Error = (d) => new InvalidRequestError(d)): RequestHandler {
  return (req, _res, next) => {
    next(containsNul(req.body) ? error('Text fields must not contain NUL characters (U+0000).') : undefined);
  };
}
