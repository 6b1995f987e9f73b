import type { RequestHandler } from 'express';
import { InvalidRequestError } from '../../errors.js';

/** `%00` in any spelling: the one escape that decodes to NUL. */
const ENCODED_NUL = /%00/i;

/**
 * The first thing every express request meets. Two kinds of URL used to end as 500s: a path
 * whose percent-encoding does not decode (`/api/connect/%E0%A4%A/status`: the router's URIError
 * is no AppError) and `%00` in a path or query parameter (PostgreSQL text cannot hold U+0000:
 * an OAuth `state` or `client_id` went into a query and failed there). Both are the client's
 * mistake: 400 here, before any route, so no route has to remember it. (A raw NUL or control
 * character never gets this far: Node's HTTP parser refuses it.)
 */
export const checkUrl: RequestHandler = (req, _res, next) => {
  const url = req.url;
  if (ENCODED_NUL.test(url)) {
    next(new InvalidRequestError('The URL must not contain NUL characters (%00).'));
    return;
  }
  const path = url.split('?', 1)[0] ?? '';
  try {
    decodeURIComponent(path);
  } catch {
    next(new InvalidRequestError('The URL path is not valid percent-encoding.'));
    return;
  }
  next();
};
