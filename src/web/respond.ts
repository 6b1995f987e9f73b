import type { Response } from 'express';

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
