/**
 * Which redirect URIs a client may register, and when a requested one matches.
 *
 * - https anywhere; http only on a loopback host (OAuth 2.1 §1.5, MCP "Communication Security");
 * - a private-use scheme (RFC 8252 §7.1, e.g. `cursor://…`) for native apps;
 * - never a fragment (RFC 6749 §3.1.2), userinfo, or a scheme a browser would run as code.
 */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const FORBIDDEN_SCHEMES = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:', 'about:', 'ftp:', 'ws:', 'wss:']);
const MAX_LENGTH = 2000;

/** Why a URI cannot be registered, or undefined when it can. */
export function redirectUriProblem(value: string): string | undefined {
  if (value.length > MAX_LENGTH) return `is longer than ${MAX_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not an absolute URI';
  }
  if (value.includes('#')) return 'must not contain a fragment';
  if (url.username !== '' || url.password !== '') return 'must not contain user information';
  if (FORBIDDEN_SCHEMES.has(url.protocol)) return `must not use the ${url.protocol} scheme`;
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) return 'must use https (http is allowed only for 127.0.0.1, [::1] and localhost)';
  return undefined;
}

/** True when the URI is an http loopback redirect, whose port the client picks at run time. */
export function isLoopbackRedirect(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
  } catch {
    return false;
  }
}

/**
 * Exact string comparison (OAuth 2.1 §4.1.1), with the one exception RFC 8252 §7.3 makes: a
 * loopback redirect URI matches on any port, everything else (scheme, host, path, query) equal.
 */
export function redirectUriMatches(registered: readonly string[], requested: string): boolean {
  if (registered.includes(requested)) return true;
  if (!isLoopbackRedirect(requested)) return false;
  const wanted = withoutPort(requested);
  return registered.some((r) => isLoopbackRedirect(r) && withoutPort(r) === wanted);
}

function withoutPort(value: string): string {
  const url = new URL(value);
  url.port = '';
  return url.href;
}

/** What the consent page shows as "sends you back to": the host, or the scheme of a native app. */
export function redirectTarget(value: string): string {
  const url = new URL(value);
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.host : `${url.protocol}//${url.host}`;
}

/** The CSP `form-action` source that allows a form submission to end in a redirect to `value`. */
export function cspSourceFor(value: string): string {
  const url = new URL(value);
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    return isLoopbackRedirect(value) ? `${url.protocol}//${url.hostname}:*` : url.origin;
  }
  return url.protocol;
}
