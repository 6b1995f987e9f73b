import type { Request, Response } from 'express';
import { CallbackError, exchangeCallbackCode, finishConnect, recordConnected, saveConnection, type CallbackQuery, type ConsumedCallback } from '../../connections/connect-flow.js';
import { withTransaction } from '../../db/pool.js';
import { ForbiddenError } from '../../errors.js';
import type { SignInCallback } from './connect-callback.js';
import { sameHash, sha256 } from '../../crypto/secrets.js';
import { userForAccount } from '../../oauth-server/sign-in.js';
import type { WebDeps } from '../deps.js';
import { withNotice } from '../notices.js';
import { successPage } from '../pages/connect-result.js';
import { messagePage } from '../pages/message.js';
import { sendErrorPage, sendPage } from '../respond.js';
import { startWebSession, webActor, type SessionDeps } from '../sessions.js';

/**
 * The web page's half of `/api/connect/:provider/callback` (the one redirect URI registered
 * upstream). Both of the page's upstream logins were bound to the browser that started them, so
 * the callback must arrive in that browser: otherwise a link started by someone else and opened
 * by a victim could connect the victim's upstream account to the other person's user, or sign
 * the victim in as someone else.
 *
 * - connecting (the state names a user): the account is stored for that user and the browser
 *   goes back to the dashboard with a notice;
 * - signing in (no user yet): the upstream account says who the person is — the owner of a
 *   connection to that account, else a new user, exactly as for an MCP client's sign-in — the
 *   account is connected, and a web session starts.
 */
export function webUpstreamCallback(deps: WebDeps & SessionDeps): SignInCallback {
  return async (req, res, consumed, query) => {
    const back = consumed.userId !== null ? { href: '/dashboard#connections', text: 'Back to your dashboard' } : { href: '/', text: 'Back to the start page' };
    const browserId = deps.browserCookies.read(req).browserId;
    if (!browserId || !consumed.webBindingHash || !sameHash(consumed.webBindingHash, sha256(browserId))) {
      deps.log.warn({ provider: consumed.provider.id }, 'web login callback arrived in a different browser; refused');
      const refused = new ForbiddenError('This link was started in a different browser. For your safety nothing was connected; start again from the page in this browser.', 'access_denied', { title: 'Connection refused' });
      sendErrorPage(req, res, refused, deps.log, ({ title, message }) => messagePage({ title, message, link: back }));
      return;
    }
    try {
      if (consumed.confirmation === 'confirmed') {
        // Started through the API and confirmed on /connect/confirm: the person may have no web session here.
        const { providerName, accountId } = await finishConnect(deps, consumed, query, webActor(req, res));
        sendPage(res, 200, successPage(providerName, accountId));
        return;
      }
      if (consumed.userId !== null) {
        await finishConnect(deps, consumed, query, webActor(req, res));
        res.set('Cache-Control', 'no-store').redirect(303, `${withNotice('/dashboard', 'connected', consumed.provider.id)}#connections`);
        return;
      }
      await signIn(deps, req, res, consumed, query);
    } catch (err) {
      if (err instanceof CallbackError) deps.log.info({ provider: consumed.provider.id, reason: err.code }, 'web login callback refused');
      sendErrorPage(req, res, err, deps.log, ({ message }) => messagePage({ title: `Could not connect ${consumed.provider.name}`, message: `${message} Nothing was changed.`, link: back }));
    }
  };
}

async function signIn(deps: WebDeps & SessionDeps, req: Request, res: Response, consumed: ConsumedCallback, query: CallbackQuery): Promise<void> {
  const provider = consumed.provider;
  const tokens = await exchangeCallbackCode(deps, consumed, query);
  const accountId = tokens.accountId;
  if (accountId === null) {
    deps.log.error({ provider: provider.id }, 'web sign-in impossible: the provider does not say which account logged in (set account_id_field)');
    throw new CallbackError(`${provider.name} did not say which account signed in, so this server cannot sign you in with it.`);
  }
  const userId = await withTransaction(deps.pool, async (tx) => {
    const id = await userForAccount(tx, provider.id, accountId, tokens.accountName);
    if (id !== null) await saveConnection(deps, tx, id, provider, tokens);
    return id;
  });
  if (userId === null) {
    const disabled = new ForbiddenError('This account is disabled on this server. Ask its operator.', 'access_denied', { title: 'Account disabled' });
    sendErrorPage(req, res, disabled, deps.log, ({ title, message }) => messagePage({ title, message, link: { href: '/', text: 'Back to the start page' } }));
    return;
  }
  await recordConnected(deps.pool, { userId, providerId: provider.id, accountId, actor: webActor(req, res) }, deps.log);
  await startWebSession(deps, req, res, { userId, key: null, via: 'upstream', provider: provider.id });
  res.set('Cache-Control', 'no-store').redirect(303, withNotice('/dashboard', 'signed_in', provider.id));
}
