import { Router, type ErrorRequestHandler } from 'express';
import { AppError } from '../errors.js';
import type { SignInCallback } from './routes/connect-callback.js';
import { CsrfError } from './csrf.js';
import type { WebDeps } from './deps.js';
import { messagePage } from './pages/message.js';
import { sendPage } from './respond.js';
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
 * Errors of the web page's routes become pages, not JSON: a refused form (403), a missing
 * thing (404), anything else a generic 500 page whose cause goes to the log only.
 */
function webErrors(deps: WebDeps): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) return next(err);
    const signedIn = Boolean((res.locals.webVisitor as { session?: unknown } | undefined)?.session);
    const home = signedIn ? { href: '/dashboard', text: 'Back to your dashboard' } : { href: '/', text: 'Back to the start page' };
    if (err instanceof CsrfError) {
      sendPage(res, 403, messagePage({ title: 'Form expired', message: err.description, link: home }));
      return;
    }
    if (err instanceof AppError && err.status < 500) {
      res.set(err.headers);
      const title = err.status === 404 ? 'Not found' : err.status === 403 ? 'Not allowed' : 'That did not work';
      sendPage(res, err.status, messagePage({ title, message: err.description, link: home }));
      return;
    }
    // body-parser's own errors (a form too large, a bad encoding) are the sender's fault.
    const type = (err as { type?: unknown })?.type;
    if (typeof type === 'string' && type.startsWith('entity.')) {
      sendPage(res, type === 'entity.too.large' ? 413 : 400, messagePage({ title: 'Form not accepted', message: 'The form could not be read. Go back and try again.', link: home }));
      return;
    }
    deps.log.error({ err, method: req.method, path: req.path }, 'unhandled error on the web page');
    sendPage(res, 500, messagePage({ title: 'Something went wrong', message: 'Something went wrong on our side. Please try again.', link: home }));
  };
}
