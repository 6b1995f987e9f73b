import type { RequestHandler } from 'express';
import type { Logger } from '../../log.js';

/**
 * One line per request. Only the path is logged, never the query string (it carries OAuth
 * codes and states) nor headers (they carry keys).
 */
export function requestLog(log: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const level = res.statusCode >= 500 ? 'error' : 'info';
      log[level]({ method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
    });
    next();
  };
}
