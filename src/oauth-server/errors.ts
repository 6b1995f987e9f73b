import { AppError } from '../errors.js';

/**
 * OAuth errors (RFC 6749 §5.2, RFC 7591 §3.2.2, RFC 8707 §2, RFC 7009 §2.2.1): AppErrors with the
 * RFC's codes, so src/render-error.ts renders them as `{ error, error_description }` like every
 * other error. `invalid_request` is src/errors.ts's InvalidRequestError. The token and revocation
 * routes add `Cache-Control: no-store` before anything can throw.
 */

/**
 * Client authentication failed. RFC 6749 §5.2: 401, and a client that tried HTTP Basic must be
 * told which scheme to use; saying it always costs nothing.
 */
export class InvalidClientError extends AppError {
  constructor(description: string) {
    super(401, 'invalid_client', description, { headers: { 'WWW-Authenticate': 'Basic realm="mcp-oauth-proxy", charset="UTF-8"' } });
  }
}

export class InvalidGrantError extends AppError {
  constructor(description: string) {
    super(400, 'invalid_grant', description);
  }
}

export class UnauthorizedClientError extends AppError {
  constructor(description: string) {
    super(400, 'unauthorized_client', description);
  }
}

export class UnsupportedGrantTypeError extends AppError {
  constructor(description: string) {
    super(400, 'unsupported_grant_type', description);
  }
}

export class InvalidScopeError extends AppError {
  constructor(description: string) {
    super(400, 'invalid_scope', description);
  }
}

/** RFC 8707 §2: the resource is missing, unknown or not ours. */
export class InvalidTargetError extends AppError {
  constructor(description: string) {
    super(400, 'invalid_target', description);
  }
}

export class InvalidRedirectUriError extends AppError {
  constructor(description: string) {
    super(400, 'invalid_redirect_uri', description);
  }
}

export class InvalidClientMetadataError extends AppError {
  constructor(description: string) {
    super(400, 'invalid_client_metadata', description);
  }
}

/** The codes RFC 6749 §4.1.2.1 (and OIDC's prompt=none answers) let an authorization error redirect carry. */
export type AuthorizationRedirectCode =
  | 'invalid_request'
  | 'access_denied'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'server_error'
  | 'invalid_target'
  | 'login_required'
  | 'consent_required';

/**
 * An authorization request that cannot go on, after the client and its redirect URI were
 * verified: it is sent back to the client as `redirect_uri?error=…` (RFC 6749 §4.1.2.1), never
 * rendered here. Its words are written for the client and its user, so they are shown.
 */
export class AuthorizationRedirectError extends AppError {
  declare readonly code: AuthorizationRedirectCode;

  constructor(
    code: AuthorizationRedirectCode,
    description: string,
    /** Where the error goes: set where the request is validated, or filled in by whoever catches it. */
    readonly target?: { redirectUri: string; state: string | null },
  ) {
    super(400, code, description, { expose: true });
  }
}

const PAGE_CODES: Readonly<Record<number, string>> = { 401: 'unauthorized', 403: 'access_denied', 429: 'rate_limited' };

/**
 * An authorization request that must NOT be redirected: the client or its redirect URI is
 * unknown, so the redirect could hand the user (and an error) to an attacker. Shown as a page
 * headed `title`.
 */
export class AuthorizationPageError extends AppError {
  declare readonly title: string;

  constructor(status: number, title: string, description: string, headers: Readonly<Record<string, string>> = {}) {
    super(status, PAGE_CODES[status] ?? 'invalid_request', description, { title, headers, expose: true });
  }
}
