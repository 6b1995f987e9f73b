import { AppError } from '../errors.js';

/**
 * OAuth errors (RFC 6749 §5.2, RFC 7591 §3.2.2, RFC 8707 §2, RFC 7009 §2.2.1). They are AppErrors,
 * so the one error middleware renders them as `{ error, error_description }`; the token and
 * revocation routes add `Cache-Control: no-store` before anything can throw.
 */
export class OAuthError extends AppError {
  constructor(status: number, code: string, description: string, headers: Readonly<Record<string, string>> = {}) {
    super(status, code, description, headers);
  }
}

export class InvalidRequestError extends OAuthError {
  constructor(description: string) {
    super(400, 'invalid_request', description);
  }
}

/**
 * Client authentication failed. RFC 6749 §5.2: 401, and a client that tried HTTP Basic must be
 * told which scheme to use; saying it always costs nothing.
 */
export class InvalidClientError extends OAuthError {
  constructor(description: string) {
    super(401, 'invalid_client', description, { 'WWW-Authenticate': 'Basic realm="mcp-oauth-proxy", charset="UTF-8"' });
  }
}

export class InvalidGrantError extends OAuthError {
  constructor(description: string) {
    super(400, 'invalid_grant', description);
  }
}

export class UnauthorizedClientError extends OAuthError {
  constructor(description: string) {
    super(400, 'unauthorized_client', description);
  }
}

export class UnsupportedGrantTypeError extends OAuthError {
  constructor(description: string) {
    super(400, 'unsupported_grant_type', description);
  }
}

export class InvalidScopeError extends OAuthError {
  constructor(description: string) {
    super(400, 'invalid_scope', description);
  }
}

/** RFC 8707 §2: the resource is missing, unknown or not ours. */
export class InvalidTargetError extends OAuthError {
  constructor(description: string) {
    super(400, 'invalid_target', description);
  }
}

export class InvalidRedirectUriError extends OAuthError {
  constructor(description: string) {
    super(400, 'invalid_redirect_uri', description);
  }
}

export class InvalidClientMetadataError extends OAuthError {
  constructor(description: string) {
    super(400, 'invalid_client_metadata', description);
  }
}

/**
 * An authorization request that cannot go on, after the client and its redirect URI were
 * verified: it is sent back to the client as `redirect_uri?error=…` (RFC 6749 §4.1.2.1),
 * never rendered here.
 */
export class AuthorizationRedirectError extends Error {
  constructor(
    readonly code: 'invalid_request' | 'access_denied' | 'unsupported_response_type' | 'invalid_scope' | 'server_error' | 'invalid_target' | 'login_required' | 'consent_required',
    readonly description: string,
    /** Where the error goes: set where the request is validated, or filled in by whoever catches it. */
    readonly target?: { redirectUri: string; state: string | null },
  ) {
    super(description);
    this.name = 'AuthorizationRedirectError';
  }
}

/**
 * An authorization request that must NOT be redirected: the client or its redirect URI is
 * unknown, so the redirect could hand the user (and an error) to an attacker. Shown as a page.
 */
export class AuthorizationPageError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly description: string,
    /** Extra response headers (Retry-After of a 429). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(description);
    this.name = 'AuthorizationPageError';
  }
}
