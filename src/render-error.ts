import { isDatabaseUnavailable } from './db/unavailable.js';
import { AppError, InvalidRequestError, JsonRpcError, PayloadTooLargeError, SERVER_ERROR_DESCRIPTION, ServerError, ServiceUnavailableError } from './errors.js';
import type { Logger } from './log.js';

/**
 * The one error renderer (STYLE §2). Every surface that answers with an error — the JSON API, the
 * HTML pages, the OAuth authorization redirect, JSON-RPC on /mcp — turns whatever was thrown into
 * its answer here, through one mapping (`toAppError`): AppErrors keep their status, code and
 * headers, and their words only when `expose` allows; anything else is logged with its cause and
 * becomes a generic 500 (a database outage a 503), so no stack trace, SQL or secret reaches a client.
 *
 * The functions return what to send, not how: express routes, the /mcp fast path and the web
 * pages each write it their way (web/ templates the page; this module knows no HTML).
 */

/** What a log line names besides the error: the surface, method and path, a provider… */
export type Where = Readonly<Record<string, unknown>>;

/** The words of an error whose own words may not be shown, by status class. */
const HIDDEN_CLIENT_ERROR = 'The request could not be processed.';

/**
 * Any thrown value as the AppError a client may see. This is where errors are logged, once:
 * unknown ones with their cause, hidden AppErrors with theirs; a refusal the client caused is not
 * an incident and is left to the request log.
 */
export function toAppError(err: unknown, log: Logger, where: Where = {}): AppError {
  if (err instanceof AppError) {
    if (!err.expose) log.error({ err, ...where }, 'error not shown to the client');
    return err;
  }
  if (isDatabaseUnavailable(err)) {
    // Its message names internal addresses (connect ECONNREFUSED 10.0.0.5:5432): logged, not shown.
    log.warn({ err: (err as Error).message, ...where }, 'database unavailable');
    return new ServiceUnavailableError();
  }
  const parserError = bodyParserError(err);
  if (parserError) return parserError;
  log.error({ err, ...where }, 'unhandled error');
  return new ServerError(SERVER_ERROR_DESCRIPTION, { cause: err });
}

/** body-parser's errors carry a `type`; the ones a client causes are 4xx, not failures of ours. */
export function bodyParserError(err: unknown): AppError | undefined {
  const type = (err as { type?: unknown } | null)?.type;
  if (type === 'entity.parse.failed') return new InvalidRequestError('The request body is not valid JSON.');
  if (type === 'entity.too.large') return new PayloadTooLargeError('The request body is too large.');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') return new InvalidRequestError('Unsupported request body encoding.');
  return undefined;
}

/** What the client may read: the error's own words when exposed, else a generic sentence. */
export function publicMessage(error: AppError): string {
  if (error.expose) return error.description;
  return error.status >= 500 ? SERVER_ERROR_DESCRIPTION : HIDDEN_CLIENT_ERROR;
}

export interface RenderedError<Body> {
  status: number;
  headers: Readonly<Record<string, string>>;
  body: Body;
}

/** The contract's error body: `{ error, error_description }` with the status and headers (WWW-Authenticate, Retry-After). */
export function jsonError(err: unknown, log: Logger, where?: Where): RenderedError<{ error: string; error_description: string }> {
  const error = toAppError(err, log, where);
  return { status: error.status, headers: error.headers, body: { error: error.code, error_description: publicMessage(error) } };
}

/** What an HTML error page says; the caller's template turns it into markup (and escapes it). */
export interface ErrorPageView {
  status: number;
  title: string;
  message: string;
}

const PAGE_TITLES: Readonly<Record<number, string>> = { 403: 'Not allowed', 404: 'Not found' };

export function pageError(err: unknown, log: Logger, where?: Where): RenderedError<ErrorPageView> {
  const error = toAppError(err, log, where);
  const title = (error.expose ? error.title : undefined) ?? PAGE_TITLES[error.status] ?? (error.status >= 500 ? 'Something went wrong' : 'That did not work');
  return { status: error.status, headers: error.headers, body: { status: error.status, title, message: publicMessage(error) } };
}

/**
 * The codes an authorization error redirect may carry (RFC 6749 §4.1.2.1, RFC 8707 §2, OIDC
 * Core §3.1.2.6); anything else goes back as server_error.
 */
const REDIRECT_CODES = new Set(['invalid_request', 'unauthorized_client', 'access_denied', 'unsupported_response_type', 'invalid_scope', 'server_error', 'temporarily_unavailable', 'invalid_target', 'login_required', 'consent_required']);

/** The query parameters of an authorization error redirect (`redirect_uri?error=…&error_description=…`). */
export function redirectError(err: unknown, log: Logger, where?: Where): { error: string; error_description: string } {
  return redirectParams(toAppError(err, log, where));
}

/** redirectError for an AppError already in hand (nothing to log: an unknown error never gets here). */
export function redirectParams(error: AppError): { error: string; error_description: string } {
  if (REDIRECT_CODES.has(error.code)) return { error: error.code, error_description: publicMessage(error) };
  return { error: 'server_error', error_description: SERVER_ERROR_DESCRIPTION };
}

/** A JSON-RPC 2.0 error response (§5.1) that belongs to no request. */
export interface JsonRpcErrorBody {
  jsonrpc: '2.0';
  error: { code: number; message: string };
  id: null;
}

/** JSON-RPC 2.0 §5.1: -32603 is "Internal error"; -32000 starts the server-defined range. */
const INTERNAL_ERROR = -32603;
const SERVER_DEFINED = -32000;

export function jsonRpcError(err: unknown, log: Logger, where?: Where): RenderedError<JsonRpcErrorBody> {
  const error = toAppError(err, log, where);
  if (error instanceof JsonRpcError) return rendered(error, error.rpcCode, error.description);
  // A failure of ours is JSON-RPC's own "Internal error", in its own words; the rest are server-defined.
  if (error.status >= 500 && !error.expose) return rendered(error, INTERNAL_ERROR, 'Internal error');
  return rendered(error, SERVER_DEFINED, publicMessage(error));
}

function rendered(error: AppError, code: number, message: string): RenderedError<JsonRpcErrorBody> {
  return { status: error.status, headers: error.headers, body: { jsonrpc: '2.0', error: { code, message }, id: null } };
}
