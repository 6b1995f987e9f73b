import type { Request, Response } from 'express';
import type { Logger } from '../log.js';
import { pageError, type ErrorPageView } from '../render-error.js';

/**
 * The Content-Security-Policy of every HTML page: only this server's own stylesheet, script and
 * icon (no inline script or style, no `unsafe-inline`), never framed, and forms that may lead
 * only here and to `formTargets` (`form-action` also governs the redirect answering a form post,
 * so the upstream login pages a "Connect" button leads to must be listed).
 */
export function contentSecurityPolicy(formTargets: readonly string[] = []): string {
  const targets = [...new Set(formTargets)];
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    `form-action 'self'${targets.length > 0 ? ` ${targets.join(' ')}` : ''}`,
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Headers of every HTML page: the policy above, never framed, never cached (pages are personal). */
export function pageHeaders(formTargets: readonly string[] = []): Record<string, string> {
  return {
    'Content-Security-Policy': contentSecurityPolicy(formTargets),
    'X-Frame-Options': 'DENY',
    'Cache-Control': 'no-store',
  };
}

export function sendPage(res: Response, status: number, html: string, formTargets: readonly string[] = []): void {
  res.status(status).set(pageHeaders(formTargets)).type('html').send(html);
}

/**
 * Any error as an HTML page, through the one renderer (src/render-error.ts: status, headers, the
 * words a visitor may read, unknown errors a logged generic 500). `template` words it for the
 * screen it replaces and must escape what it inserts.
 */
export function sendErrorPage(req: Request, res: Response, err: unknown, log: Logger, template: (view: ErrorPageView) => string): void {
  const { status, headers, body } = pageError(err, log, { surface: 'page', method: req.method, path: req.path });
  if (res.headersSent) {
    // Too late for a page (logged above all the same): cut the response short rather than append to it.
    res.destroy();
    return;
  }
  res.set(headers);
  sendPage(res, status, template(body));
}
