import type { ErrorRequestHandler, RequestHandler } from 'express';
import { isDatabaseUnavailable } from '../../db/unavailable.js';
import { AppError, InvalidRequestError, NotFoundError, PayloadTooLargeError, ServerError, ServiceUnavailableError } from '../../errors.js';
import type { Logger } from '../../log.js';

export const notFound: RequestHandler = (req) => {
  throw new NotFoundError(`No route for ${req.method} ${req.path}.`);
};

/**
 * The one place errors become responses (STYLE §2). AppErrors render as
 * `{ error, error_description }` with their status; anything else is logged with its cause
 * and becomes a generic 500, so no stack trace, SQL or secret ever reaches a client.
 */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) return next(err);
    const error = toAppError(err);
    if (error instanceof ServiceUnavailableError) {
      log.warn({ err: (err as Error).message, method: req.method, path: req.path }, 'database unavailable');
    } else if (error instanceof ServerError) {
      log.error({ err, method: req.method, path: req.path }, 'unhandled error');
    }
    res.status(error.status).set(error.headers).json(error.toResponseObject());
  };
}

function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isDatabaseUnavailable(err)) return new ServiceUnavailableError();
  // body-parser's errors carry a `type`; map the ones a client causes.
  const type = (err as { type?: unknown })?.type;
  if (type === 'entity.parse.failed') return new InvalidRequestError('The request body is not valid JSON.');
  if (type === 'entity.too.large') return new PayloadTooLargeError('The request body is too large.');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') return new InvalidRequestError('Unsupported request body encoding.');
  return new ServerError();
}
