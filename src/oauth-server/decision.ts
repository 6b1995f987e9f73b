import { beginUpstreamLogin } from '../connections/connect-flow.js';
import { withTransaction } from '../db/pool.js';
import type { KeyCheck } from '../auth/key-check.js';
import { TooManyRequestsError } from '../errors.js';
import type { ApiKeyRecord } from '../keys/key-store.js';
import { findUndecidedRequest, markApproved, type PendingAuthorization } from './authorization-request-store.js';
import { readyWithoutUpstream, signInProviders } from './authorize.js';
import { AuthorizationPageError, AuthorizationRedirectError } from './errors.js';
import { normalize } from './scopes.js';
import { sameHash, sha256 } from './secrets.js';
import { findSessionUser } from './session-store.js';
import { finishAuthorization, refuseAuthorization, type SignInDeps, type SignInOutcome } from './sign-in.js';

/** The consent form, as submitted. */
export interface ConsentDecision {
  handle: string | undefined;
  csrf: string | undefined;
  /** `allow` (sign in with `provider`), `allow_session` (the recognised browser user), `allow_key`, or `deny`. */
  decision: string | undefined;
  provider: string | undefined;
  apiKey: string | undefined;
  /** The submitting client's address: refused keys count against it, as on every other path. */
  ip: string | undefined;
  /** Cookies of the submitting browser. */
  browserId: string | undefined;
  sessionValue: string | undefined;
}

const EXPIRED = new AuthorizationPageError(400, 'Sign-in expired', 'This sign-in has expired or was already decided. Start again from your AI client.');

/**
 * POST /oauth/authorize/decision. The form must carry the request's CSRF token and come from the
 * browser that loaded the consent page (its binding cookie): a page elsewhere that submits the
 * form for a request its author started cannot pass (403). Each request is decided once.
 */
export async function decide(deps: SignInDeps & { keyCheck: KeyCheck }, form: ConsentDecision): Promise<SignInOutcome> {
  if (!form.handle) throw EXPIRED;
  const request = await findUndecidedRequest(deps.pool, sha256(form.handle));
  if (!request) throw EXPIRED;
  const csrfOk = form.csrf !== undefined && sameHash(request.csrfHash, sha256(form.csrf));
  const browserOk = form.browserId !== undefined && sameHash(request.browserHash, sha256(form.browserId));
  if (!csrfOk || !browserOk) {
    throw new AuthorizationPageError(403, 'Request refused', 'This form was not submitted from the page this server showed you (CSRF check failed). Start again from your AI client.');
  }

  switch (form.decision) {
    case 'deny':
      return refuseAuthorization(deps.pool, deps.endpoints, request.id, new AuthorizationRedirectError('access_denied', 'The user denied access.'));
    case 'allow': {
      const provider = chosenProvider(deps, form.provider);
      if (!(await markApproved(deps.pool, request.id, null, request.scopes))) throw EXPIRED;
      const { authorizationUrl } = await beginUpstreamLogin(deps, { userId: null, providerId: provider, authorizationRequestId: request.id });
      return { redirect: authorizationUrl };
    }
    case 'allow_session': {
      const user = form.sessionValue ? await findSessionUser(deps.pool, form.sessionValue) : undefined;
      if (!user) throw new AuthorizationPageError(400, 'Not signed in', 'This browser is no longer signed in. Go back and choose how to sign in.');
      return continueAsUser(deps, request, user.userId, request.scopes, form.provider);
    }
    case 'allow_key': {
      const record = form.apiKey?.trim() ? await checkPastedKey(deps.keyCheck, form.apiKey.trim(), form.ip) : undefined;
      if (!record) throw new AuthorizationPageError(401, 'Invalid API key', 'That API key is invalid, expired or revoked. Go back and try again, or sign in with your account instead.');
      // A key can hand the client no more than it may do itself.
      const scopes = normalize(request.scopes.filter((s) => (record.scopes as readonly string[]).includes(s)));
      if (scopes.length === 0) throw new AuthorizationPageError(403, 'Key cannot be used', 'That API key has neither the tools:read nor the tools:write scope.');
      return continueAsUser(deps, request, record.userId, scopes, form.provider);
    }
    default:
      throw new AuthorizationPageError(400, 'Invalid form', 'The form was submitted without a decision.');
  }
}

/**
 * A user known before any upstream visit (key or session). With a working connection the code
 * is issued at once; otherwise the upstream login connects their account first (and the
 * callback then links it to this user, whoever the upstream account is).
 */
async function continueAsUser(
  deps: SignInDeps,
  request: PendingAuthorization,
  userId: string,
  scopes: string[],
  providerField: string | undefined,
): Promise<SignInOutcome> {
  if (await readyWithoutUpstream(deps, userId)) {
    const outcome = await withTransaction(deps.pool, async (tx) => {
      if (!(await markApproved(tx, request.id, userId, scopes))) return undefined;
      return finishAuthorization(tx, deps.endpoints, request.id, userId);
    });
    if (!outcome) throw EXPIRED;
    return outcome;
  }
  const provider = chosenProvider(deps, providerField);
  if (!(await markApproved(deps.pool, request.id, userId, scopes))) throw EXPIRED;
  const { authorizationUrl } = await beginUpstreamLogin(deps, { userId, providerId: provider, authorizationRequestId: request.id });
  return { redirect: authorizationUrl };
}

/** A pasted key, through the same check as every key: an address with too many refused keys waits (429 page). */
async function checkPastedKey(keyCheck: KeyCheck, presented: string, ip: string | undefined): Promise<ApiKeyRecord | undefined> {
  try {
    return await keyCheck.check(presented, ip);
  } catch (err) {
    if (err instanceof TooManyRequestsError) throw new AuthorizationPageError(429, 'Too many attempts', err.description, err.headers);
    throw err;
  }
}

/** The provider picked on the page; with a single one, that one. */
function chosenProvider(deps: SignInDeps, field: string | undefined): string {
  const providers = signInProviders(deps);
  const only = providers.length === 1 ? providers[0]?.id : undefined;
  const chosen = field ?? only;
  if (!chosen || !providers.some((p) => p.id === chosen)) {
    throw new AuthorizationPageError(400, 'Choose an account', 'Choose which account to sign in with. Go back and pick one.');
  }
  return chosen;
}
