import { Router, type ErrorRequestHandler } from 'express';
import { AppError } from '../errors.js';
import type { SignInCallback } from './routes/connect-callback.js';
import type { WebDeps } from './deps.js';
import { messagePage } from './pages/message.js';
import { sendErrorPage } from './respond.js';
import { confirmConnectRouter } from './routes/confirm-connect.js';
import { dashboardRouter } from './routes/dashboard.js';
import { idpSignInRouter } from './routes/idp-sign-in.js';
import { publicRouter } from './routes/public.js';
import { webUpstreamCallback } from './routes/upstream-callback.js';
import { isLoopbackUrl, webSessionCookie, type SessionDeps } from './sessions.js';
import { staticRouter } from './static-files.js';

export interface Web {
  /** `/`, `/register`, `/sign-in…`, `/sign-out`, `/dashboard…` and `/static/*`. */
  router: Router;
  /** For the upstream callback (routes/connect-callback.ts): finishes upstream logins the page started. */
  callback: SignInCallback;
}

/** The web page for people: server-rendered HTML and forms over the same domain services as the API. */
export function createWeb(deps: WebDeps): Web {
  if (!deps.publicUrl.startsWith('https://') && !isLoopbackUrl(deps.publicUrl)) {
    // Browsers drop a Secure cookie set over plain http: nobody could stay signed in.
    deps.log.warn({ url: deps.publicUrl }, 'PUBLIC_URL is plain http on a non-loopback host: the web page sets Secure session cookies, so signing in there needs https');
  }
  const full: WebDeps & SessionDeps = { ...deps, sessionCookie: webSessionCookie(deps.publicUrl) };
  const router = Router();
  router.use(staticRouter());
  router.use(publicRouter(full));
  if (deps.idpLogin) router.use(idpSignInRouter({ ...full, idpLogin: deps.idpLogin }));
  router.use(dashboardRouter(full));
  router.use(confirmConnectRouter(full));
  router.use(webErrors(full));
  return { router, callback: webUpstreamCallback(full) };
}

/**
 * Errors of the web page's routes become pages, not JSON, through the one renderer: a refused
 * form (403), a missing thing (404), anything unknown a generic 500 whose cause goes to the log only.
 */
function webErrors(deps: WebDeps): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) return next(err);
    const signedIn = Boolean((res.locals.webVisitor as { session?: unknown } | undefined)?.session);
    const link = signedIn ? { href: '/dashboard', text: 'Back to your dashboard' } : { href: '/', text: 'Back to the start page' };
    sendErrorPage(req, res, formError(err) ?? err, deps.log, ({ title, message }) => messagePage({ title, message, link }));
  };
}

/** body-parser's own errors (a form too large, a bad encoding) are the sender's fault, in a form's words. */
function formError(err: unknown): AppError | undefined {
  const type = (err as { type?: unknown } | null)?.type;
  if (typeof type !== 'string' || !type.startsWith('entity.')) return undefined;
  const status = type === 'entity.too.large' ? 413 : 400;
  return new AppError(status, 'invalid_form', 'The form could not be read. Go back and try again.', { title: 'Form not accepted' });
}
