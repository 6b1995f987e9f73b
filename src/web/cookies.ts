import type { Request, Response } from 'express';

/**
 * The two cookies of the sign-in pages, both HttpOnly and SameSite=Lax (sent on the top-level
 * redirect back from the upstream, never on a cross-site POST):
 *
 * - `browser`: a random binding value that ties each authorization request — its consent form
 *   and its upstream callback — to the browser that started it;
 * - `session`: "this browser signed in as user X" (server keeps only a hash).
 *
 * On https they take the `__Host-` prefix: Secure, Path=/, no Domain, so no sibling host can set them.
 */
export interface SignInCookies {
  read(req: Request): { browserId: string | undefined; sessionValue: string | undefined };
  setBrowser(res: Response, value: string): void;
  setSession(res: Response, value: string, maxAgeSeconds: number): void;
}

const BROWSER_MAX_AGE = 24 * 60 * 60;

export function signInCookies(publicUrl: string): SignInCookies {
  const secure = publicUrl.startsWith('https://');
  const prefix = secure ? '__Host-' : '';
  const browserName = `${prefix}mcp_browser`;
  const sessionName = `${prefix}mcp_session`;
  const attributes = (maxAge: number) => `Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;

  return {
    read(req) {
      const cookies = parseCookies(req.headers.cookie);
      return { browserId: cookies.get(browserName), sessionValue: cookies.get(sessionName) };
    },
    setBrowser(res, value) {
      res.append('Set-Cookie', `${browserName}=${value}; ${attributes(BROWSER_MAX_AGE)}`);
    },
    setSession(res, value, maxAgeSeconds) {
      res.append('Set-Cookie', `${sessionName}=${value}; ${attributes(maxAgeSeconds)}`);
    },
  };
}

/** One cookie of the request (the first of that name), for every cookie this server sets. */
export function readCookie(req: Request, name: string): string | undefined {
  return parseCookies(req.headers.cookie).get(name);
}

/**
 * RFC 6265 §5.4 Cookie header: the one parser for every cookie this server reads (sign-in,
 * browser binding, web session). Our values are base64url, so no decoding is needed.
 */
function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!cookies.has(name)) cookies.set(name, part.slice(eq + 1).trim());
  }
  return cookies;
}
