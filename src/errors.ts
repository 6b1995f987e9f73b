/**
 * One error model for the whole service (STYLE §2). Every failure a client may see is an
 * AppError with a stable `code`; the error middleware renders it as
 * `{ error, error_description }`. Anything else becomes a generic 500.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly description: string,
    /** Extra response headers (WWW-Authenticate, Retry-After…). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(description);
    this.name = new.target.name;
  }

  toResponseObject(): { error: string; error_description: string } {
    return { error: this.code, error_description: this.description };
  }
}

export class InvalidRequestError extends AppError {
  constructor(description: string, code = 'invalid_request') {
    super(400, code, description);
  }
}

export class UnauthorizedError extends AppError {
  constructor(description: string, wwwAuthenticate: string) {
    super(401, 'unauthorized', description, { 'WWW-Authenticate': wwwAuthenticate });
  }
}

export class ForbiddenError extends AppError {
  constructor(description: string, code = 'forbidden') {
    super(403, code, description);
  }
}

export class NotFoundError extends AppError {
  constructor(description: string) {
    super(404, 'not_found', description);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(description: string) {
    super(413, 'payload_too_large', description);
  }
}

export class TooManyRequestsError extends AppError {
  constructor(description: string, retryAfterSeconds: number) {
    super(429, 'rate_limited', description, { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) });
  }
}

/** The upstream could not give an answer we can act on (down, 5xx, timeout, unexpected status). */
export class UpstreamUnavailableError extends AppError {
  constructor(description: string) {
    super(502, 'upstream_unavailable', description);
  }
}

/** The database cannot be reached (down or restarting): not the client's fault, and retrying soon works. */
export class ServiceUnavailableError extends AppError {
  constructor(description = 'The service is temporarily unavailable. Please try again in a few seconds.') {
    super(503, 'temporarily_unavailable', description, { 'Retry-After': '5' });
  }
}

export class ServerError extends AppError {
  constructor(description = 'Something went wrong on our side. Please try again.') {
    super(500, 'server_error', description);
  }
}
