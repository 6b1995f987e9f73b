import type { ErrorRequestHandler, RequestHandler } from 'express';
import { NotFoundError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { jsonError } from '../../render-error.js';

export const notFound: RequestHandler = (req) => {
  throw new NotFoundError(`No route for ${req.method} ${req.path}.`);
};

/**
 * The JSON API's error middleware: every error its routes throw leaves as the contract's
 * `{ error, error_description }` through the one renderer (src/render-error.ts), which logs what
 * it hides and turns unknown errors into a generic 500.
 */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) return next(err);
    const { status, headers, body } = jsonError(err, log, { surface: 'json', method: req.method, path: req.path });
    res.status(status).set(headers).json(body);
  };
}
