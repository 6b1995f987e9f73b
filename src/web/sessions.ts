import type { NextFunction, Request, Response } from 'express';
import { recordAudit } from '../audit/record.js';
import type { Logger } from '../log.js';
import type { Pool } from '../db/pool.js';
import { displayAddress, type Actor } from '../auth/actor.js';
import type { SignInCookies } from '../http/cookies.js';
import type { ApiKeyRecord } from '../keys/key-store.js';
import { ALL_SCOPES, type Scope } from '../keys/scopes.js';
import { newSecret } from '../oauth-server/secrets.js';
import { deleteWebSession, findWebSession, insertWebSession, type WebSessionRecord } from './session-store.js';

/**
 * The web page's sign-in session. The cookie holds a random session id (only its SHA-256 is
 * stored, see session-store.ts) and never an API key. It is HttpOnly, SameSite=Lax (sent when
 * the upstream sends the browser back, never with another site's POST) and Secure unless the
 * server runs on loopback (http://localhost during development); with Secure it takes the
 * `__Host-` prefix, so no other host can plant one.
 */
export interface WebSessionCookie {
  read(req: Request): string | undefined;
  set(res: Response, value: string, expiresAt: Date): void;
  clear(res: Response): void;
}

export function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname.toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(host) || host === '[::1]';
}

export function webSessionCookie(publicUrl: string): WebSessionCookie {
  const secure = !isLoopbackUrl(publicUrl);
  const name = secure ? '__Host-mcp_web' : 'mcp_web';
  const attributes = (maxAge: number) => `Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
  return {
    read(req) {
      for (const part of (req.headers.cookie ?? '').split(';')) {
        const eq = part.indexOf('=');
        if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
      }
      return undefined;
    },
    set(res, value, expiresAt) {
      const maxAge = Math.max(1, Math.round((expiresAt.getTime() - Date.now()) / 1000));
      res.append('Set-Cookie', `${name}=${value}; ${attributes(maxAge)}`);
    },
    clear(res) {
      res.append('Set-Cookie', `${name}=; ${attributes(0)}`);
    },
  };
}

/** Who is at the web page: a signed-in session, and the browser-binding cookie. */
export interface WebVisitor {
  session: WebSessionRecord | undefined;
  /** The session cookie's value, when it names a live session (its CSRF tokens derive from it). */
  sessionValue: string | undefined;
  /** The browser-binding cookie (shared with the OAuth sign-in pages), when the browser has one. */
  browserId: string | undefined;
}

export interface SessionDeps {
  pool: Pool;
  sessionCookie: WebSessionCookie;
  browserCookies: SignInCookies;
  log: Logger;
}

/** Loads the visitor into `res.locals`; audit events of a key-based session name its key. */
export function loadVisitor(deps: SessionDeps) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const value = deps.sessionCookie.read(req);
    const session = value ? await findWebSession(deps.pool, value) : undefined;
    if (value && !session) deps.sessionCookie.clear(res);
    const visitor: WebVisitor = { session, sessionValue: session ? value : undefined, browserId: deps.browserCookies.read(req).browserId };
    res.locals.webVisitor = visitor;
    next();
  };
}

export function visitorOf(res: Response): WebVisitor {
  return res.locals.webVisitor as WebVisitor;
}

/** Who acts in a web request, for the audit log: the browser's address and agent, and the session's key if it has one. */
export function webActor(req: Request, res: Response): Actor {
  const visitor = res.locals.webVisitor as WebVisitor | undefined;
  return { ip: displayAddress(req.ip), userAgent: req.get('user-agent') ?? null, keyPrefix: visitor?.session?.key?.prefix ?? null };
}

/** The browser-binding value, set now if the browser has none yet (anonymous forms and upstream logins need one). */
export function ensureBrowserId(deps: SessionDeps, res: Response): string {
  const visitor = visitorOf(res);
  const browserId = visitor.browserId ?? newSecret();
  // Set again on every use so it does not run out while a form is open.
  deps.browserCookies.setBrowser(res, browserId);
  visitor.browserId = browserId;
  return browserId;
}

export type SignInMethod = 'key' | 'register' | 'upstream';

/**
 * Signs the browser in: a new session id (never the old one: no fixation), the previous session
 * of this browser ended, the cookie set, and the sign-in recorded in the user's audit log.
 */
export async function startWebSession(
  deps: SessionDeps,
  req: Request,
  res: Response,
  signIn: { userId: string; key: ApiKeyRecord | null; via: SignInMethod; provider?: string },
): Promise<string> {
  const previous = deps.sessionCookie.read(req);
  if (previous) await deleteWebSession(deps.pool, previous);
  const { value, expiresAt } = await insertWebSession(deps.pool, { userId: signIn.userId, keyId: signIn.key?.id ?? null });
  deps.sessionCookie.set(res, value, expiresAt);
  await recordAudit(
    deps.pool,
    {
      userId: signIn.userId,
      type: 'session.created',
      detail: { via: signIn.via, ...(signIn.provider ? { provider: signIn.provider } : {}) },
      actor: { ...webActor(req, res), keyPrefix: signIn.key?.prefix ?? null },
    },
    deps.log,
  );
  return value;
}

export async function endWebSession(deps: SessionDeps, req: Request, res: Response): Promise<void> {
  const value = deps.sessionCookie.read(req);
  if (value) await deleteWebSession(deps.pool, value);
  deps.sessionCookie.clear(res);
}

/**
 * What a session may do, as the key it acts as. Signed in with an API key: that key (its scopes,
 * limits and expiry bound every key made here, exactly as through the API). Signed in by
 * registering or through the upstream: the user themself, like their registration key.
 */
export function authorityOf(session: WebSessionRecord): ApiKeyRecord {
  if (session.key) return session.key;
  return {
    // Not a stored key: createKeyAs/rotateKeyAs read only the user, scopes, limits and expiry.
    id: '',
    userId: session.userId,
    name: null,
    prefix: '',
    scopes: [...ALL_SCOPES],
    createdAt: new Date(0),
    lastUsedAt: null,
    expiresAt: null,
    rateLimit: { perMinute: null, perHour: null },
  };
}

export function sessionScopes(session: WebSessionRecord): readonly Scope[] {
  return authorityOf(session).scopes;
}
