import { assetUrl } from '../static-files.js';

/**
 * The frame every HTML page of the server shares: the web page, the OAuth consent page and the
 * connect callback pages. Every dynamic value goes through `escapeHtml` (names, account ids and
 * upstream error text are someone else's text). No inline script or style anywhere: the
 * Content-Security-Policy allows only this server's own files.
 */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface PageOptions {
  /** The document title (before " · mcp-oauth-proxy"); escaped here. */
  title: string;
  /** Markup of <main>; must already be escaped. */
  body: string;
  /** Shown in the header when someone is signed in: their name and the sign-out form's CSRF token. */
  account?: { name: string | null; csrf: string } | undefined;
  /** A reading-width page (forms, messages) rather than the wide dashboard. */
  narrow?: boolean;
}

export function layout(options: PageOptions): string {
  const nav = options.account
    ? `<nav class="site-nav" aria-label="Account">
<a href="/dashboard">Dashboard</a>
<span class="who">Signed in as ${escapeHtml(options.account.name ?? 'you')}</span>
<form method="post" action="/sign-out">${csrfField(options.account.csrf)}<button type="submit">Sign out</button></form>
</nav>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(options.title)} · mcp-oauth-proxy</title>
<link rel="stylesheet" href="${assetUrl('web.css')}"><link rel="icon" href="${assetUrl('icon.svg')}" type="image/svg+xml">
<script src="${assetUrl('web.js')}" defer></script></head>
<body><a class="skip" href="#main">Skip to content</a>
<header class="site-header"><div class="bar"><a class="brand" href="/">mcp-oauth-proxy</a>${nav}</div></header>
<main id="main"${options.narrow ? ' class="narrow"' : ''} tabindex="-1">${options.body}</main>
<footer class="site-footer"><p>One MCP server; every person uses their own upstream accounts.</p></footer>
<div id="copy-status" class="visually-hidden" role="status" aria-live="polite"></div>
</body></html>`;
}

/** The hidden field every form carries (see web/csrf.ts). */
export function csrfField(token: string): string {
  return `<input type="hidden" name="csrf_token" value="${escapeHtml(token)}">`;
}

/** A copy button for the element `targetId`; hidden until web.js shows it (it does nothing without JS). */
export function copyButton(targetId: string, label: string, what: string, extraClass = ''): string {
  return `<button type="button" class="secondary small copy${extraClass ? ` ${extraClass}` : ''}" data-copy="${escapeHtml(targetId)}" data-copy-what="${escapeHtml(what)}" hidden>${escapeHtml(label)}</button>`;
}

/** A date for people: `2025-11-22 09:40 UTC`, with the exact instant in `datetime`. */
export function timeTag(date: Date | string | null, empty = '—'): string {
  if (date === null) return empty;
  const d = typeof date === 'string' ? new Date(date) : date;
  const text = `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<time datetime="${d.toISOString()}">${text}</time>`;
}

/** A block of errors at the top of a form, announced at once (role=alert). */
export function alertBox(message: string | undefined): string {
  return message ? `<div class="alert" role="alert">${escapeHtml(message)}</div>` : '';
}
