import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Metrics } from '../../metrics/metrics.js';

/**
 * Counts every request express serves by its route *pattern* (`/api/keys/:id`), never the path:
 * paths carry key ids and provider names, and a label per distinct value would grow without
 * bound. Requests no route matched (404s, scanners) all count as `unmatched`.
 */
export function httpMetrics(metrics: Metrics): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = performance.now();
    res.once('finish', () => {
      const pattern = req.route?.path;
      const route = typeof pattern === 'string' ? `${req.baseUrl}${pattern}` : 'unmatched';
      metrics.http(req.method, route, res.statusCode, (performance.now() - started) / 1000);
    });
    next();
  };
}
