import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { ForbiddenError } from '../errors.js';

/**
 * CSRF protection of every form on the web page.
 *
 * The token is derived from a secret the browser holds only in an HttpOnly cookie:
 * SHA-256("web-csrf:" + secret). Signed-in forms derive it from the session cookie (a
 * synchronizer token bound to the session: a new session, a new token); the forms a visitor
 * uses before signing in (register, sign in) derive it from the browser-binding cookie. A page on
 * another site can neither read the cookie nor our pages, so it cannot produce the token, and the
 * token does not reveal the cookie (nor does the stored SHA-256 of a session reveal the token).
 *
 * As a second line, a browser that says the form comes from another site (`Sec-Fetch-Site`) is
 * refused before the token is even looked at.
 */
export class CsrfError extends ForbiddenError {
  constructor() {
    super('This form is out of date or did not come from this site. Reload the page and try again.', 'csrf_failed', { title: 'Form expired' });
  }
}

export function csrfTokenFor(secret: string): string {
  return createHash('sha256').update(`web-csrf:${secret}`, 'utf8').digest('base64url');
}

/** Throws CsrfError unless the request is same-origin and carries the token derived from `secret`. */
export function checkCsrf(req: Request, secret: string | undefined): void {
  const site = req.get('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new CsrfError();
  const body = (req.body ?? {}) as Record<string, unknown>;
  const presented = typeof body.csrf_token === 'string' ? body.csrf_token : '';
  if (secret === undefined || !sameText(presented, csrfTokenFor(secret))) throw new CsrfError();
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
