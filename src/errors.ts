/**
 * One error model for the whole service (STYLE §2). Every failure a client may see is an
 * AppError with a status and a stable `code`; src/render-error.ts renders it for whichever surface
 * answers (the contract's JSON body, an HTML page, an OAuth error redirect, a JSON-RPC error).
 * Anything else becomes a generic 500, logged with its cause and never shown.
 */
export interface AppErrorOptions {
  /** Extra response headers (WWW-Authenticate, Retry-After…). */
  headers?: Readonly<Record<string, string>>;
  /**
   * Whether `description` may reach the client. Default: only below 500 — a 4xx describes the
   * client's own request, a 5xx's words may name internals. Kinds worded for clients (502, 503) opt in.
   */
  expose?: boolean;
  /** The heading when the error is shown as an HTML page (default: one per status, render-error.ts). */
  title?: string;
  /** What led here, for the log only. */
  cause?: unknown;
}

export class AppError extends Error {
  readonly expose: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly title: string | undefined;

  constructor(
    readonly status: number,
    readonly code: string,
    readonly description: string,
    options: AppErrorOptions = {},
  ) {
    super(description, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.expose = options.expose ?? status < 500;
    this.headers = options.headers ?? {};
    this.title = options.title;
  }
}

/** 400: the request is malformed. OAuth's `invalid_request` (RFC 6749 §5.2) is this one too. */
export class InvalidRequestError extends AppError {
  constructor(description: string, code = 'invalid_request', options?: AppErrorOptions) {
    super(400, code, description, options);
  }
}

export class UnauthorizedError extends AppError {
  constructor(description: string, wwwAuthenticate: string) {
    super(401, 'unauthorized', description, { headers: { 'WWW-Authenticate': wwwAuthenticate } });
  }
}

export class ForbiddenError extends AppError {
  constructor(description: string, code = 'forbidden', options?: AppErrorOptions) {
    super(403, code, description, options);
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
    super(429, 'rate_limited', description, { headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) } });
  }
}

/** The upstream could not give an answer we can act on (down, 5xx, timeout, unexpected status). */
export class UpstreamUnavailableError extends AppError {
  constructor(description: string) {
    // Worded for the user (which upstream, what to do); the upstream's own words are theirs to see.
    super(502, 'upstream_unavailable', description, { expose: true });
  }
}

/** The database cannot be reached (down or restarting): not the client's fault, and retrying soon works. */
export class ServiceUnavailableError extends AppError {
  constructor(description = 'The service is temporarily unavailable. Please try again in a few seconds.') {
    super(503, 'temporarily_unavailable', description, { expose: true, headers: { 'Retry-After': '5' } });
  }
}

export const SERVER_ERROR_DESCRIPTION = 'Something went wrong on our side. Please try again.';

/** A failure of ours: rendered with the generic description whatever this one says. */
export class ServerError extends AppError {
  constructor(description = SERVER_ERROR_DESCRIPTION, options?: AppErrorOptions) {
    super(500, 'server_error', description, options);
  }
}

/**
 * A JSON-RPC error that belongs to no request (`id: null`) on /mcp: a body that is not JSON, an
 * empty batch, a method the endpoint does not serve. `rpcCode` is JSON-RPC 2.0 §5.1's number.
 */
export class JsonRpcError extends AppError {
  constructor(
    status: number,
    readonly rpcCode: number,
    message: string,
    options?: AppErrorOptions,
  ) {
    super(status, 'json_rpc_error', message, { expose: true, ...options });
  }
}
